package dev.kiln.testkit;

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
