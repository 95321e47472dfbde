#!/bin/sh
# Creates the seqembed topics; safe to run again (--if-not-exists).
# Runs in the apache/kafka image (docker-compose service `topic-init`) or anywhere kafka-topics.sh is.
#
# Environment (defaults in brackets):
#   BOOTSTRAP_SERVERS        [kafka:9092]
#   PARTITIONS               [4]   default partition count for every topic
#   TOKENS_PARTITIONS, DLQ_PARTITIONS, WINDOWS_PARTITIONS,
#   DENSE_PARTITIONS, ATTENTION_PARTITIONS   [$PARTITIONS]  per-topic overrides
#   REPLICATION_FACTOR       [1]
#   KAFKA_TOPICS             [/opt/kafka/bin/kafka-topics.sh, else kafka-topics.sh on PATH]
#   WAIT_SECONDS             [120] how long to wait for the broker
set -eu

BOOTSTRAP_SERVERS="${BOOTSTRAP_SERVERS:-kafka:9092}"
PARTITIONS="${PARTITIONS:-4}"
REPLICATION_FACTOR="${REPLICATION_FACTOR:-1}"
WAIT_SECONDS="${WAIT_SECONDS:-120}"
if [ -z "${KAFKA_TOPICS:-}" ]; then
  if [ -x /opt/kafka/bin/kafka-topics.sh ]; then
    KAFKA_TOPICS=/opt/kafka/bin/kafka-topics.sh
  else
    KAFKA_TOPICS=kafka-topics.sh
  fi
fi

echo "create-topics: waiting for ${BOOTSTRAP_SERVERS} (up to ${WAIT_SECONDS}s)"
waited=0
until "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP_SERVERS" --list >/dev/null 2>&1; do
  if [ "$waited" -ge "$WAIT_SECONDS" ]; then
    echo "create-topics: broker ${BOOTSTRAP_SERVERS} not reachable after ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

create() {
  topic="$1"
  partitions="$2"
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP_SERVERS" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICATION_FACTOR"
}

create tokens               "${TOKENS_PARTITIONS:-$PARTITIONS}"
create tokens.dlq           "${DLQ_PARTITIONS:-$PARTITIONS}"
create windows              "${WINDOWS_PARTITIONS:-$PARTITIONS}"
create embeddings.dense     "${DENSE_PARTITIONS:-$PARTITIONS}"
create embeddings.attention "${ATTENTION_PARTITIONS:-$PARTITIONS}"
# Internal: validated chunks feeding the attention sub-topology (<application.id>-attention-chunks).
create "${APPLICATION_ID:-seqembed}-attention-chunks" "${ATTENTION_PARTITIONS:-$PARTITIONS}"

echo "create-topics: done; topics on ${BOOTSTRAP_SERVERS}:"
"$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP_SERVERS" --list
