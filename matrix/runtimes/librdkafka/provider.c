/* A provider that uses librdkafka: a producer handle, kept, whose threads keep running. */
#include <librdkafka/rdkafka.h>
#include <stddef.h>

static rd_kafka_t *producer;

int dlm_provider_fire(void)
{
	char error[256];
	rd_kafka_conf_t *conf;

	if (producer)
		return 0;
	conf = rd_kafka_conf_new();
	/* no broker is needed to start the threads; no log lines about the missing one */
	if (rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error)) != RD_KAFKA_CONF_OK)
		return 1;
	producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
	return producer ? 0 : 1;
}
