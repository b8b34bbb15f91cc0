package dev.kiln.broker;

import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real single-node KRaft Kafka broker (combined broker + controller) in this JVM. Used by the
 * tests, by {@code kiln up}'s embedded default and by {@code kiln broker}.
 *
 * <p>{@link #start()} and {@link #start(Path)} listen on free ports of 127.0.0.1 only: anyone who
 * can reach 127.0.0.1 may use them (a farm on one machine). {@link #serve(Path, Listener)} puts the
 * client listener on a chosen address and port and advertises another name (a broker in a
 * container: listen on {@code 0.0.0.0:9092}, advertise {@code kafka:9092}); its controller stays on
 * 127.0.0.1. {@link #secure(Map)} is a SASL/SCRAM broker with an authorizer and no access without
 * an ACL, for tests of the ACLs a secured cluster runs with.
 */
public final class EmbeddedKafka implements AutoCloseable {
  /** The only address the embedded broker listens on. */
  public static final String LOOPBACK = "127.0.0.1";

  /** Where a durable broker's data directory keeps its cluster id. */
  public static final String CLUSTER_ID_FILE = "kiln-cluster-id";

  /** The SCRAM mechanism users of the secure broker log in with. */
  public static final String SCRAM_MECHANISM = "SCRAM-SHA-512";

  /** The broker's own (super) user on the secure broker; PLAIN, known only to this JVM. */
  static final String BROKER_USER = "kiln-broker";

  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * Where the broker's client listener accepts connections and the address it gives clients in
   * metadata, which they connect to after bootstrapping.
   *
   * @param host the address to bind ({@code 0.0.0.0} for every interface)
   * @param port the port to bind (0: a free one)
   * @param advertisedHost the host name clients are told to connect to (null: {@code host}, which
   *     must then not be a wildcard address)
   * @param advertisedPort the port clients are told to connect to (0: the bound port)
   */
  public record Listener(String host, int port, String advertisedHost, int advertisedPort) {
    public Listener {
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("the broker needs an address to listen on");
      }
      if (port < 0 || port > 65535 || advertisedPort < 0 || advertisedPort > 65535) {
        throw new IllegalArgumentException(
            "a port is a number from 0 to 65535 (got " + port + " / " + advertisedPort + ")");
      }
      if (advertisedHost == null && isWildcard(host)) {
        throw new IllegalArgumentException(
            "a broker listening on "
                + host
                + " needs a name to advertise that clients can reach it by (e.g. kafka:9092)");
      }
    }

    /** Listens on 127.0.0.1 only, on {@code port} (0: a free one). */
    public static Listener loopback(int port) {
      return new Listener(LOOPBACK, port, null, 0);
    }

    /** What clients are told to connect to; a port of 0 stands for the bound port. */
    String advertised() {
      return (advertisedHost == null ? host : advertisedHost) + ":" + advertisedPort;
    }

    static boolean isWildcard(String host) {
      return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    }
  }

  private final KafkaClusterTestKit cluster;
  private final List<Integer> ports;
  private final Listener listener;

  /** Secure broker only: the broker's own password (null: unauthenticated broker). */
  private final String brokerPassword;

  /** Secure broker only: SCRAM user → password. */
  private final Map<String, String> passwords;

  private EmbeddedKafka(
      KafkaClusterTestKit cluster,
      List<Integer> ports,
      Listener listener,
      String brokerPassword,
      Map<String, String> passwords) {
    this.cluster = cluster;
    this.ports = ports;
    this.listener = listener;
    this.brokerPassword = brokerPassword;
    this.passwords = passwords;
  }

  /** A throw-away broker whose data is deleted on close. */
  public static EmbeddedKafka start() {
    return start(null);
  }

  /**
   * A broker keeping its data under {@code dataDir} across restarts: the first start formats it
   * (and records the cluster id in {@value #CLUSTER_ID_FILE}), later starts open the same log, so
   * topics, records and consumer offsets survive a crash of the process.
   */
  public static EmbeddedKafka start(Path dataDir) {
    return serve(dataDir, Listener.loopback(0));
  }

  /**
   * A broker keeping its data under {@code dataDir} (null: a throw-away one) whose client listener
   * is {@code listener}: for a broker other machines or containers connect to. The controller still
   * listens on 127.0.0.1 only (only this JVM's broker talks to it).
   */
  public static EmbeddedKafka serve(Path dataDir, Listener listener) {
    return launch(dataDir, Objects.requireNonNull(listener), Map.of(), null, Map.of());
  }

  /**
   * A throw-away broker that only lets authenticated users in (SASL/SCRAM-SHA-512 on 127.0.0.1) and
   * only does what an ACL allows ({@code StandardAuthorizer}, nothing allowed without an ACL).
   * Every key of {@code aclsByUser} becomes a SCRAM user with a random password (see {@link
   * #clientConfig(String)}); its ACL bindings (which name principals {@code User:<name>}) are
   * created before this returns. A user with no bindings can log in and do nothing.
   */
  public static EmbeddedKafka secure(Map<String, ? extends Collection<AclBinding>> aclsByUser) {
    String brokerPassword = newPassword();
    Map<String, String> passwords = new LinkedHashMap<>();
    for (String user : aclsByUser.keySet()) {
      if (user.equals(BROKER_USER) || !user.matches("[A-Za-z0-9._-]+")) {
        throw new IllegalArgumentException(
            "'" + user + "' cannot be a SCRAM user here; use letters, digits, '.', '_' or '-'");
      }
      passwords.put(user, newPassword());
    }
    String plain =
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + BROKER_USER
            + "\" password=\""
            + brokerPassword
            + "\" user_"
            + BROKER_USER
            + "=\""
            + brokerPassword
            + "\";";
    Map<String, String> props = new LinkedHashMap<>();
    props.put(
        "listener.security.protocol.map", "EXTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT");
    // Clients log in with SCRAM; PLAIN knows only the broker's own user, whose password never
    // leaves this JVM (the broker talks to itself and its controller with it).
    props.put("listener.name.external.sasl.enabled.mechanisms", SCRAM_MECHANISM + ",PLAIN");
    props.put("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
    props.put("sasl.enabled.mechanisms", SCRAM_MECHANISM + ",PLAIN");
    props.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
    props.put("sasl.mechanism.controller.protocol", "PLAIN");
    props.put("listener.name.external.plain.sasl.jaas.config", plain);
    props.put("listener.name.controller.plain.sasl.jaas.config", plain);
    props.put(
        "listener.name.external." + SCRAM_MECHANISM.toLowerCase() + ".sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required;");
    props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    props.put("allow.everyone.if.no.acl.found", "false");
    props.put("super.users", "User:" + BROKER_USER);
    EmbeddedKafka kafka = launch(null, Listener.loopback(0), props, brokerPassword, passwords);
    try {
      kafka.createUsersAndAcls(aclsByUser);
      return kafka;
    } catch (RuntimeException e) {
      kafka.close();
      throw e;
    }
  }

  private static EmbeddedKafka launch(
      Path dataDir,
      Listener listener,
      Map<String, String> extraProps,
      String brokerPassword,
      Map<String, String> passwords) {
    try {
      TestKitNodes.Builder nodes =
          new TestKitNodes.Builder()
              .setCombined(true)
              .setNumBrokerNodes(1)
              .setNumControllerNodes(1);
      boolean formatted = false;
      if (dataDir != null) {
        Files.createDirectories(dataDir);
        Path idFile = dataDir.resolve(CLUSTER_ID_FILE);
        if (Files.isRegularFile(idFile)) {
          nodes.setClusterId(Files.readString(idFile).strip());
          formatted = true;
        } else {
          // Nothing recorded: whatever is there is from an unfinished first start.
          deleteRecursively(dataDir);
          Files.createDirectories(dataDir);
        }
        nodes.setBaseDirectory(dataDir);
      }
      TestKitNodes built = nodes.build();
      KafkaClusterTestKit.Builder builder =
          new KafkaClusterTestKit.Builder(built)
              .setDeleteOnClose(dataDir == null)
              // The test kit's default is "localhost", whatever that resolves to; name the
              // addresses themselves. The ports here only name the listeners: the broker accepts
              // on the sockets rebindPreboundSockets puts in place.
              .setConfigProp(
                  "listeners",
                  built.brokerListenerName().value()
                      + "://"
                      + listener.host()
                      + ":"
                      + listener.port()
                      + ","
                      + built.controllerListenerName().value()
                      + "://"
                      + LOOPBACK
                      + ":0")
              .setConfigProp("offsets.topic.replication.factor", "1")
              .setConfigProp("transaction.state.log.replication.factor", "1")
              .setConfigProp("transaction.state.log.min.isr", "1")
              .setConfigProp("group.initial.rebalance.delay.ms", "0")
              .setConfigProp("auto.create.topics.enable", "false")
              .setConfigProp("log.cleaner.backoff.ms", "1000");
      if (listener.advertisedHost() != null || listener.advertisedPort() != 0) {
        // Only the client listener: the controller is found through the quorum configuration.
        builder.setConfigProp(
            "advertised.listeners",
            built.brokerListenerName().value() + "://" + listener.advertised());
      }
      extraProps.forEach(builder::setConfigProp);
      KafkaClusterTestKit cluster = builder.build();
      List<Integer> ports;
      try {
        ports = rebindPreboundSockets(cluster, built.brokerListenerName().value(), listener);
      } catch (Exception e) {
        cluster.close();
        throw e;
      }
      if (!formatted) {
        formatQuietly(cluster);
        if (dataDir != null) {
          Files.writeString(dataDir.resolve(CLUSTER_ID_FILE), built.clusterId() + "\n");
        }
      }
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new EmbeddedKafka(cluster, ports, listener, brokerPassword, passwords);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting the embedded Kafka broker", e);
    } catch (Exception e) {
      throw new IllegalStateException(
          "the embedded Kafka broker did not start: " + e.getMessage(), e);
    }
  }

  /**
   * The test kit reserves each listener's port before the broker starts by binding a socket to the
   * wildcard address, and the broker then accepts on exactly that socket: the broker and its
   * controller would answer on every interface of the machine. Each reserved socket is replaced by
   * one on 127.0.0.1 with the same port (what the quorum configuration already names), before the
   * broker takes them over; the client listener's, when {@code listener} names an address or a
   * fixed port, by one on that address and port (the test kit itself cannot bind a chosen port).
   */
  @SuppressWarnings("unchecked")
  private static List<Integer> rebindPreboundSockets(
      KafkaClusterTestKit cluster, String brokerListenerName, Listener listener) throws Exception {
    Field managerField = KafkaClusterTestKit.class.getDeclaredField("socketFactoryManager");
    managerField.setAccessible(true);
    Object manager = managerField.get(cluster);
    Field socketsField = manager.getClass().getDeclaredField("sockets");
    socketsField.setAccessible(true);
    List<Integer> ports = new ArrayList<>();
    synchronized (manager) {
      Map<Integer, Map<String, ServerSocketChannel>> sockets =
          (Map<Integer, Map<String, ServerSocketChannel>>) socketsField.get(manager);
      for (Map<String, ServerSocketChannel> byListener : sockets.values()) {
        for (Map.Entry<String, ServerSocketChannel> entry : byListener.entrySet()) {
          ServerSocketChannel wildcard = entry.getValue();
          int port = ((InetSocketAddress) wildcard.getLocalAddress()).getPort();
          wildcard.close();
          InetSocketAddress address = new InetSocketAddress(LOOPBACK, port);
          if (entry.getKey().equals(brokerListenerName) && listener.port() != 0) {
            address = new InetSocketAddress(listener.host(), listener.port());
          } else if (entry.getKey().equals(brokerListenerName)) {
            address = new InetSocketAddress(listener.host(), port);
          }
          // As Kafka's own ServerSocketFactory opens them: non-blocking, default backlog; a fixed
          // port is taken again right after a restart (SO_REUSEADDR).
          ServerSocketChannel bound = ServerSocketChannel.open();
          bound.configureBlocking(false);
          bound.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
          try {
            bound.bind(address);
          } catch (java.net.BindException e) {
            bound.close();
            throw new IllegalStateException(
                "cannot listen on "
                    + address.getHostString()
                    + ":"
                    + address.getPort()
                    + " ("
                    + e.getMessage()
                    + "); stop what uses that port or choose another",
                e);
          }
          entry.setValue(bound);
          ports.add(((InetSocketAddress) bound.getLocalAddress()).getPort());
        }
      }
    }
    if (ports.isEmpty()) {
      throw new IllegalStateException(
          "the Kafka test kit reserved no listener sockets; this version binds differently and"
              + " EmbeddedKafka must be checked to still listen on 127.0.0.1 only");
    }
    return List.copyOf(ports);
  }

  private void createUsersAndAcls(Map<String, ? extends Collection<AclBinding>> aclsByUser) {
    List<AclBinding> bindings = new ArrayList<>();
    aclsByUser.values().forEach(bindings::addAll);
    List<UserScramCredentialAlteration> users = new ArrayList<>();
    passwords.forEach(
        (user, password) ->
            users.add(
                new UserScramCredentialUpsertion(
                    user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password)));
    try (Admin admin = Admin.create(Map.<String, Object>copyOf(adminClientConfig()))) {
      if (!bindings.isEmpty()) {
        admin.createAcls(bindings).all().get(60, TimeUnit.SECONDS);
      }
      if (!users.isEmpty()) {
        admin.alterUserScramCredentials(users).all().get(60, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating SCRAM users and ACLs", e);
    } catch (Exception e) {
      throw new IllegalStateException(
          "could not create SCRAM users and ACLs on the secure embedded broker: " + e.getMessage(),
          e);
    }
    // Users and ACLs reach the broker through the metadata log, in order: once the last user can
    // log in, every ACL created before it is in force too.
    if (!users.isEmpty()) {
      waitUntilUserCanLogIn(new ArrayList<>(passwords.keySet()).get(passwords.size() - 1));
    }
  }

  private void waitUntilUserCanLogIn(String user) {
    Map<String, Object> config = new LinkedHashMap<>(clientConfig(user));
    config.put("default.api.timeout.ms", "5000");
    config.put("request.timeout.ms", "5000");
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try (Admin admin = Admin.create(config)) {
        admin.describeCluster().clusterId().get(10, TimeUnit.SECONDS);
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for SCRAM users", e);
      } catch (Exception e) {
        last = e;
        try {
          Thread.sleep(100);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for SCRAM users", e);
        }
      }
    }
    throw new IllegalStateException(
        "SCRAM user " + user + " could still not log in after 60 s: " + last, last);
  }

  /**
   * {@code 127.0.0.1:port} for {@code bootstrap.servers} of a client on this machine (a broker
   * listening on one other address only: that address).
   */
  public String bootstrapServers() {
    // The test kit answers "localhost:port"; name the address the broker listens on.
    String host =
        listener.host().equals(LOOPBACK) || Listener.isWildcard(listener.host())
            ? LOOPBACK
            : listener.host();
    return Objects.requireNonNull(cluster.bootstrapServers()).replace("localhost:", host + ":");
  }

  /**
   * {@code host:port} the broker tells clients to connect to: its advertised address (with the
   * bound port where none was given).
   */
  public String advertisedAddress() {
    String bound = bootstrapServers();
    int port =
        listener.advertisedPort() != 0
            ? listener.advertisedPort()
            : Integer.parseInt(bound.substring(bound.lastIndexOf(':') + 1));
    String host = listener.advertisedHost() != null ? listener.advertisedHost() : listener.host();
    return host + ":" + port;
  }

  /** Every port the broker and its controller listen on. */
  public List<Integer> listeningPorts() {
    return List.copyOf(new TreeSet<>(ports));
  }

  /** True for a broker made by {@link #secure(Map)}. */
  public boolean isSecure() {
    return brokerPassword != null;
  }

  /**
   * Client settings for this broker, ready for a producer, consumer or admin client: for a secure
   * broker, those of its super user (for test set-up only; the code under test logs in as a {@link
   * #clientConfig(String) user}).
   */
  public Map<String, String> clientConfig() {
    return isSecure() ? adminClientConfig() : Map.of("bootstrap.servers", bootstrapServers());
  }

  /**
   * The SASL settings (without {@code bootstrap.servers}) a client of the secure broker logs in as
   * {@code user} with: what an operator would put in a {@code KILN_KAFKA_PROPERTIES} file.
   */
  public Map<String, String> saslSettings(String user) {
    String password = passwords.get(user);
    if (password == null) {
      throw new IllegalArgumentException(
          isSecure()
              ? "no SCRAM user '" + user + "' on this broker; it has " + passwords.keySet()
              : "this broker has no users; start it with EmbeddedKafka.secure(...)");
    }
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("security.protocol", "SASL_PLAINTEXT");
    settings.put("sasl.mechanism", SCRAM_MECHANISM);
    settings.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
            + user
            + "\" password=\""
            + password
            + "\";");
    return settings;
  }

  /** Client settings (with {@code bootstrap.servers}) logging in as {@code user}. */
  public Map<String, String> clientConfig(String user) {
    Map<String, String> config = new LinkedHashMap<>();
    config.put("bootstrap.servers", bootstrapServers());
    config.putAll(saslSettings(user));
    return Map.copyOf(config);
  }

  private Map<String, String> adminClientConfig() {
    return Map.of(
        "bootstrap.servers",
        bootstrapServers(),
        "security.protocol",
        "SASL_PLAINTEXT",
        "sasl.mechanism",
        "PLAIN",
        "sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + BROKER_USER
            + "\" password=\""
            + brokerPassword
            + "\";");
  }

  @Override
  public void close() {
    try {
      cluster.close();
    } catch (Exception e) {
      throw new IllegalStateException("the embedded Kafka broker did not stop cleanly", e);
    }
  }

  @Override
  public String toString() {
    return "EmbeddedKafka["
        + bootstrapServers()
        + (isSecure() ? ", SASL/" + SCRAM_MECHANISM + " users " + passwords.keySet() : "")
        + "]";
  }

  private static String newPassword() {
    byte[] bytes = new byte[24];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /**
   * The storage formatter prints its bootstrap metadata straight to standard output, which would
   * end up between a command's own output lines; it runs once, before any other thread of ours.
   */
  private static void formatQuietly(KafkaClusterTestKit cluster) throws Exception {
    java.io.PrintStream stdout = System.out;
    System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
    try {
      cluster.format();
    } finally {
      System.setOut(stdout);
    }
  }

  private static void deleteRecursively(Path dir) throws java.io.IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
