"""Locust in the peer comparison: FastHttpUser (its fastest client) asking for the target's
one path without pause; with PEER_RATE, each of PEER_USERS users paced to its share of it."""

import os

from locust import constant, constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

RATE = os.environ.get("PEER_RATE")
USERS = int(os.environ.get("PEER_USERS", "1"))


class Peer(FastHttpUser):
    wait_time = constant_throughput(float(RATE) / USERS) if RATE else constant(0)

    @task
    def departments(self):
        self.client.get("/departments")
