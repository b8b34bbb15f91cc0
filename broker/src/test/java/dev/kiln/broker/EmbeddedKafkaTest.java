package dev.kiln.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaTest {

  /**
   * The attack: anyone on the network connects to a farm's embedded broker (and its controller) and
   * writes records. Every port the broker and controller accept on must refuse connections on every
   * address of the machine but 127.0.0.1, and answer on 127.0.0.1.
   */
  @Test
  void theEmbeddedBrokerListensOnLoopbackOnly() throws Exception {
    List<InetAddress> others = nonLoopbackAddresses();
    assumeFalse(others.isEmpty(), "this machine has no address but loopback to connect from");
    try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
      assertThat(kafka.bootstrapServers()).startsWith("127.0.0.1:");
      assertThat(kafka.listeningPorts()).hasSizeGreaterThanOrEqualTo(2); // broker and controller
      for (int port : kafka.listeningPorts()) {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
          assertThat(socket.isConnected()).isTrue();
        }
        for (InetAddress address : others) {
          assertThatThrownBy(
                  () -> {
                    try (Socket socket = new Socket()) {
                      socket.connect(new InetSocketAddress(address, port), 5000);
                    }
                  })
              .as("port %d on %s", port, address)
              .isInstanceOf(ConnectException.class);
        }
      }
      try (Admin admin = Admin.create(Map.<String, Object>copyOf(kafka.clientConfig()))) {
        assertThat(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS)).hasSize(1);
      }
    }
  }

  /**
   * A farm killed mid-build and started again on the same home must find its topics, records and
   * committed offsets: the broker's data directory outlives the process.
   */
  @Test
  void aBrokerStartedAgainOnItsDataDirectoryKeepsTopicsRecordsAndOffsets(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    String topic = "kept";
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir)) {
      try (Admin admin = Admin.create(Map.<String, Object>copyOf(kafka.clientConfig()))) {
        admin
            .createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      try (var producer =
          new org.apache.kafka.clients.producer.KafkaProducer<String, String>(
              Map.<String, Object>copyOf(kafka.clientConfig()),
              new org.apache.kafka.common.serialization.StringSerializer(),
              new org.apache.kafka.common.serialization.StringSerializer())) {
        for (String value : List.of("first", "second")) {
          producer
              .send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "k", value))
              .get(30, TimeUnit.SECONDS);
        }
      }
      try (var consumer = consumer(kafka)) {
        consumer.subscribe(List.of(topic));
        assertThat(poll(consumer, 1)).containsExactly("first");
        consumer.commitSync(
            Map.of(
                new org.apache.kafka.common.TopicPartition(topic, 0),
                new org.apache.kafka.clients.consumer.OffsetAndMetadata(1)));
      }
    }

    try (EmbeddedKafka again = EmbeddedKafka.start(dir)) {
      try (var consumer = consumer(again)) {
        consumer.subscribe(List.of(topic));
        assertThat(poll(consumer, 1)).containsExactly("second");
      }
    }
  }

  /**
   * A broker in a container listens on a fixed port and tells clients another name for itself:
   * clients connect to the advertised address after bootstrapping, so that name must be in the
   * metadata, with the port asked for.
   */
  @Test
  void aServedBrokerListensOnTheGivenPortAndAdvertisesTheGivenName() throws Exception {
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    try (EmbeddedKafka kafka =
        EmbeddedKafka.serve(
            null, new EmbeddedKafka.Listener("127.0.0.1", port, "localhost", port))) {
      assertThat(kafka.bootstrapServers()).isEqualTo("127.0.0.1:" + port);
      assertThat(kafka.advertisedAddress()).isEqualTo("localhost:" + port);
      try (Admin admin = Admin.create(Map.<String, Object>copyOf(kafka.clientConfig()))) {
        var nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS);
        assertThat(nodes)
            .singleElement()
            .satisfies(
                node -> {
                  assertThat(node.host()).isEqualTo("localhost");
                  assertThat(node.port()).isEqualTo(port);
                });
      }
    }
  }

  @Test
  void aBrokerOnEveryInterfaceNeedsANameToAdvertise() {
    assertThatThrownBy(() -> new EmbeddedKafka.Listener("0.0.0.0", 9092, null, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs a name to advertise");
  }

  private static org.apache.kafka.clients.consumer.KafkaConsumer<String, String> consumer(
      EmbeddedKafka kafka) {
    Map<String, Object> config = new java.util.HashMap<>(kafka.clientConfig());
    config.put("group.id", "kept-group");
    config.put("auto.offset.reset", "earliest");
    config.put("enable.auto.commit", "false");
    config.put("max.poll.records", "1");
    return new org.apache.kafka.clients.consumer.KafkaConsumer<>(
        config,
        new org.apache.kafka.common.serialization.StringDeserializer(),
        new org.apache.kafka.common.serialization.StringDeserializer());
  }

  private static List<String> poll(
      org.apache.kafka.clients.consumer.KafkaConsumer<String, String> consumer, int count) {
    List<String> values = new java.util.ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (values.size() < count && System.nanoTime() < deadline) {
      consumer.poll(java.time.Duration.ofMillis(500)).forEach(r -> values.add(r.value()));
    }
    return values.subList(0, Math.min(count, values.size()));
  }

  private static List<InetAddress> nonLoopbackAddresses() throws Exception {
    return Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
        .filter(
            i -> {
              try {
                return i.isUp() && !i.isLoopback();
              } catch (java.net.SocketException e) {
                return false;
              }
            })
        .flatMap(i -> Collections.list(i.getInetAddresses()).stream())
        .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress())
        .toList();
  }
}
