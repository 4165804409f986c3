"""librdkafka producer load (confluent-kafka-python, Debian's python3-confluent-kafka under
/usr/bin/python3) for the bench: produce SIZE-byte records to TOPIC as fast as librdkafka takes them
for WARMUP + MEASURE seconds, count delivery reports, print one JSON line with the acknowledged
records per second during the MEASURE window.

usage: rdkafka_produce.py BOOTSTRAP TOPIC SIZE ACKS WARMUP_S MEASURE_S
"""
import json
import sys
import time

from confluent_kafka import Producer


def main() -> None:
    bootstrap, topic, size, acks, warmup, measure = sys.argv[1:7]
    size, warmup, measure = int(size), float(warmup), float(measure)
    p = Producer({
        'bootstrap.servers': bootstrap,
        'acks': acks,
        'client.id': 'sluice-bench-rdkafka',
        'enable.idempotence': acks == 'all',
    })
    value = b'x' * size
    state = {'acked': 0, 'errors': 0, 'in_window': 0}
    t0 = time.monotonic()
    window_start = t0 + warmup
    window_end = window_start + measure

    def on_delivery(err, _msg):
        if err is not None:
            state['errors'] += 1
            return
        state['acked'] += 1
        now = time.monotonic()
        if window_start <= now < window_end:
            state['in_window'] += 1

    while time.monotonic() < window_end:
        for _ in range(1000):
            try:
                p.produce(topic, value, on_delivery=on_delivery)
            except BufferError:
                p.poll(0.005)
        p.poll(0)
    p.flush(30)
    print(json.dumps({
        'recordsPerSec': state['in_window'] / measure,
        'mibPerSec': state['in_window'] * size / 2**20 / measure,
        'acked': state['acked'],
        'errors': state['errors'],
    }))


if __name__ == '__main__':
    main()
