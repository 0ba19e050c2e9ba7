"""Declare the broker topology before any process publishes.

The web tier publishes into RabbitMQ's native-delayed-delivery exchanges, but
only a worker's start declares them (docs/architecture.md, "Pitfalls worth
knowing"): a web process that starts first would publish into nothing. The
``release`` step runs this.
"""

from celery import current_app
from django.core.management.base import BaseCommand
from kombu.transport.native_delayed_delivery import (
    bind_queue_to_native_delayed_delivery_exchange,
    declare_native_delayed_delivery_exchanges_and_queues,
)


class Command(BaseCommand):
    help = "Declare the task queues and RabbitMQ's native delayed delivery exchanges (idempotent)."

    def handle(self, *args, **options) -> None:
        app = current_app
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=3)
            if connection.transport.driver_type != "amqp":
                self.stdout.write(f"{connection.transport.driver_type} broker: nothing to declare.")
                return
            queues = list(app.amqp.queues.values())
            channel = connection.default_channel
            for queue in queues:
                queue.bind(channel).declare()
            declare_native_delayed_delivery_exchanges_and_queues(
                connection, app.conf.broker_native_delayed_delivery_queue_type
            )
            for queue in queues:
                bind_queue_to_native_delayed_delivery_exchange(connection, queue)
        self.stdout.write(self.style.SUCCESS(f"Declared {len(queues)} queues and the delayed-delivery exchanges."))
