package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln broker}: the embedded KRaft broker alone, in a process of its own. */
class BrokerCommandTest {
  @TempDir Path temp;

  @Test
  void theBrokerRunsInItsOwnProcessAdvertisesItsNameAndKeepsItsLogAcrossARestart()
      throws Exception {
    Path data = temp.resolve("kafka");
    int port = freePort();
    String bootstrap = "127.0.0.1:" + port;
    String topic = "kept";
    ServiceProcesses processes = new ServiceProcesses(temp);
    try (processes) {
      ServiceProcesses.Started broker =
          processes.start(
              "broker",
              "The broker is up on (\\S+)",
              "broker",
              "--data",
              data.toString(),
              "--listen",
              bootstrap,
              "--advertise",
              "localhost:" + port);
      // Clients are told the advertised name, and reach the broker through it.
      assertThat(broker.found()).isEqualTo("localhost:" + port);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        admin
            .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
            .all()
            .get(60, TimeUnit.SECONDS);
        assertThat(admin.describeCluster().nodes().get(60, TimeUnit.SECONDS))
            .singleElement()
            .satisfies(
                node -> assertThat(node.host() + ":" + node.port()).isEqualTo(broker.found()));
      }
      try (KafkaProducer<String, String> producer =
          new KafkaProducer<>(
              Map.of("bootstrap.servers", bootstrap),
              new StringSerializer(),
              new StringSerializer())) {
        for (String value : List.of("first", "second")) {
          producer.send(new ProducerRecord<>(topic, "k", value)).get(60, TimeUnit.SECONDS);
        }
      }
      try (KafkaConsumer<String, String> consumer = consumer(bootstrap)) {
        consumer.subscribe(List.of(topic));
        assertThat(poll(consumer, 1)).containsExactly("first");
        consumer.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(1)));
      }
      broker.stop(); // SIGTERM: the shutdown hook closes the broker

      assertThat(broker.process().exitValue()).as(broker.log()).isIn(0, 143);
      processes.start(
          "broker-again",
          "The broker is up on (\\S+)",
          "broker",
          "--data",
          data.toString(),
          "--listen",
          bootstrap,
          "--advertise",
          "localhost:" + port);
      try (KafkaConsumer<String, String> consumer = consumer(bootstrap)) {
        consumer.subscribe(List.of(topic));
        assertThat(poll(consumer, 1)).containsExactly("second");
      }
    }
  }

  @Test
  void withoutADataDirectoryItRefusesToStart() {
    StringWriter err = new StringWriter();
    int exit =
        KilnCommand.commandLine()
            .setErr(new PrintWriter(err, true))
            .execute("broker", "--listen", "127.0.0.1:0");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("needs --data DIR");
  }

  @Test
  void listeningOnEveryInterfaceNeedsANameToAdvertiseAndCreatesNothing() {
    Path data = temp.resolve("never");
    StringWriter err = new StringWriter();
    int exit =
        KilnCommand.commandLine()
            .setErr(new PrintWriter(err, true))
            .execute("broker", "--data", data.toString(), "--listen", "0.0.0.0:9092");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("needs a name to advertise").contains("--advertise");
    assertThat(data).doesNotExist();
  }

  @Test
  void aListenAddressWithoutAPortIsAUsageError() {
    StringWriter err = new StringWriter();
    int exit =
        KilnCommand.commandLine()
            .setErr(new PrintWriter(err, true))
            .execute("broker", "--data", temp.toString(), "--listen", "0.0.0.0");

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("--listen '0.0.0.0' is not HOST:PORT");
  }

  static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static KafkaConsumer<String, String> consumer(String bootstrap) {
    Map<String, Object> config = new HashMap<>();
    config.put("bootstrap.servers", bootstrap);
    config.put("group.id", "kept-group");
    config.put("auto.offset.reset", "earliest");
    config.put("enable.auto.commit", "false");
    config.put("max.poll.records", "1");
    return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
  }

  private static List<String> poll(KafkaConsumer<String, String> consumer, int count) {
    List<String> values = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (values.size() < count && System.nanoTime() < deadline) {
      consumer.poll(Duration.ofMillis(500)).forEach(r -> values.add(r.value()));
    }
    return values.subList(0, Math.min(count, values.size()));
  }
}
