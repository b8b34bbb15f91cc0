package dev.kiln.deploy.docker;

import dev.kiln.deploy.ImageReadyListener;
import dev.kiln.events.DeployFailed;
import dev.kiln.events.ImageReady;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference Docker deployer: runs each new image of an app as a container on the local Docker
 * daemon and serves the app on a stable local port ({@link StablePort}) that switches to the new
 * container once it answers HTTP.
 *
 * <p>For an image-ready event it gets the image into the daemon ({@code tar:} → {@code docker
 * load}, {@code docker:} → already there, anything else → {@code docker pull} unless the daemon has
 * it), starts it as {@code kiln-<tenant>-<app>-<build>} with {@code PORT} set and published on
 * 127.0.0.1, and polls HTTP GET / until it answers below 500. Then the app's stable port switches
 * to it and the previous container is removed once its open connections ended. A container that
 * exits or does not answer within the health timeout is removed, the previous one keeps serving,
 * and the {@link Observer} gets a {@link DeployFailed}. It never rolls back: an image of a build
 * that finished before the one serving the app is skipped.
 *
 * <p>Called by {@code ReferenceDeployerVerticle} on one worker thread at a time; an exception
 * (docker failing, the image missing) makes the verticle retry and finally dead-letter the event.
 */
public final class DockerDeployer implements ImageReadyListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DockerDeployer.class);
  private static final int CONTAINER_PORT = 8080;
  private static final int LOG_TAIL = 20;
  private static final Duration DOCKER_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration SHORT = Duration.ofSeconds(30);
  private static final Pattern LOADED = Pattern.compile("(?m)^Loaded image(?: ID)?: (\\S+)\\s*$");

  /**
   * How the deployer runs apps.
   *
   * @param portRangeFirst the first port an app's stable port may use; 0 (with {@code
   *     portRangeLast} 0) for any free port
   * @param portRangeLast the last one
   * @param healthTimeout how long a new container has to answer HTTP below 500
   * @param healthInterval how often it is asked meanwhile
   * @param drainTimeout how long the previous container may finish open connections before it is
   *     removed
   * @param docker the docker executable
   */
  public record Settings(
      int portRangeFirst,
      int portRangeLast,
      Duration healthTimeout,
      Duration healthInterval,
      Duration drainTimeout,
      String docker) {
    public Settings {
      if (portRangeFirst < 0 || portRangeLast > 65535 || portRangeLast < portRangeFirst) {
        throw new IllegalArgumentException(
            "the deploy port range " + portRangeFirst + "-" + portRangeLast + " is not a range");
      }
      Objects.requireNonNull(healthTimeout, "healthTimeout");
      Objects.requireNonNull(healthInterval, "healthInterval");
      Objects.requireNonNull(drainTimeout, "drainTimeout");
      Objects.requireNonNull(docker, "docker");
    }

    /** Any free ports, 60 s health timeout polled every 200 ms, 10 s to drain, {@code docker}. */
    public static Settings defaults() {
      return new Settings(
          0, 0, Duration.ofSeconds(60), Duration.ofMillis(200), Duration.ofSeconds(10), "docker");
    }

    public Settings withPortRange(int first, int last) {
      return new Settings(first, last, healthTimeout, healthInterval, drainTimeout, docker);
    }

    public Settings withHealth(Duration timeout, Duration interval) {
      return new Settings(portRangeFirst, portRangeLast, timeout, interval, drainTimeout, docker);
    }

    /** Parses {@code FIRST-LAST} (e.g. {@code 20000-20099}). */
    public static int[] parseRange(String range) {
      Matcher m = Pattern.compile("\\s*(\\d{1,5})\\s*-\\s*(\\d{1,5})\\s*").matcher(range);
      if (!m.matches()) {
        throw new IllegalArgumentException(
            "'" + range + "' is not a port range; write FIRST-LAST, e.g. 20000-20099");
      }
      return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }
  }

  /** An app now served from a new container. */
  public record Deployed(
      String tenant, String app, String buildId, String container, URI url, ImageReady image) {}

  /** What the deployer tells about: apps that came up, images it skipped, images that failed. */
  public interface Observer {
    default void deployed(Deployed deployed) {}

    default void skipped(String eventId, ImageReady image, String reason) {}

    /**
     * A new image did not come up. Throwing makes the verticle try the whole deploy again (for
     * example when the deploy-failed event could not be published).
     */
    void failed(DeployFailed failure) throws Exception;
  }

  /** The container serving an app. */
  private record Serving(
      String eventId, ImageReady image, String container, int hostPort, StablePort proxy) {}

  private final Vertx vertx;
  private final Settings settings;
  private final Observer observer;
  private final DockerCli docker;
  private final Clock clock;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Map<String, Serving> serving = new ConcurrentHashMap<>();

  public DockerDeployer(Vertx vertx, Settings settings, Observer observer) {
    this(vertx, settings, observer, Clock.systemUTC());
  }

  DockerDeployer(Vertx vertx, Settings settings, Observer observer, Clock clock) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.observer = Objects.requireNonNull(observer, "observer");
    this.docker = new DockerCli(settings.docker());
    this.clock = clock;
  }

  /** The stable URL of an app, when it is served. */
  public java.util.Optional<URI> url(String tenant, String app) {
    Serving current = serving.get(tenant + "/" + app);
    return java.util.Optional.ofNullable(current).map(s -> url(s.proxy()));
  }

  @Override
  public synchronized void imageReady(String eventId, ImageReady image) throws Exception {
    String key = image.tenant() + "/" + image.app();
    Serving current = serving.get(key);
    if (current != null) {
      String skip = staleness(eventId, image, current);
      if (skip != null) {
        LOG.info("not deploying {} ({}): {}", eventId, image.image(), skip);
        observer.skipped(eventId, image, skip);
        return;
      }
    }
    String name = containerName(image);
    String reference = ensureImage(image.image());
    docker.run(SHORT, "rm", "-f", name); // a leftover of an earlier run of this deployer
    DockerCli.Result run =
        docker.run(
            DOCKER_TIMEOUT,
            "run",
            "-d",
            "--name",
            name,
            "--label",
            "dev.kiln.app=" + key,
            "--label",
            "dev.kiln.build=" + image.buildId(),
            "-e",
            "PORT=" + CONTAINER_PORT,
            "-p",
            "127.0.0.1::" + CONTAINER_PORT,
            reference);
    Health health;
    if (run.ok()) {
      health = awaitHealthy(name);
    } else if (docker.run(SHORT, "inspect", name).ok()) {
      // Created but not started (its command does not exist, ...): the image's fault, not the
      // daemon's, so trying again would not help.
      health =
          new Health(
              false,
              -1,
              "deploy::start-failed",
              "could not be started: " + dockerError(run.output()));
    } else {
      throw new IOException(
          "docker run of "
              + reference
              + " failed with status "
              + run.exitCode()
              + ": "
              + run.output());
    }
    if (!health.healthy()) {
      List<String> logTail = logTail(name);
      docker.run(SHORT, "rm", "-f", name);
      String message =
          key
              + " "
              + shortCommit(image)
              + " (build "
              + image.buildId()
              + ") "
              + health.problem()
              + (current == null
                  ? "; " + key + " is not served"
                  : "; " + key + " keeps serving build " + current.image().buildId());
      LOG.warn("deploy failed: {}", message);
      observer.failed(
          new DeployFailed(
              image.buildId(),
              image.tenant(),
              image.app(),
              image.commit(),
              image.image(),
              health.code(),
              message,
              logTail,
              clock.instant()));
      return;
    }
    StablePort proxy;
    if (current == null) {
      try {
        proxy =
            StablePort.open(
                vertx, settings.portRangeFirst(), settings.portRangeLast(), health.hostPort());
      } catch (Exception e) {
        docker.run(SHORT, "rm", "-f", name);
        throw e;
      }
    } else {
      proxy = current.proxy();
      proxy.switchTo(health.hostPort());
    }
    serving.put(key, new Serving(eventId, image, name, health.hostPort(), proxy));
    LOG.info("{} {} serves on {} (container {})", key, shortCommit(image), url(proxy), name);
    observer.deployed(
        new Deployed(image.tenant(), image.app(), image.buildId(), name, url(proxy), image));
    if (current != null) {
      if (!proxy.drain(current.hostPort(), settings.drainTimeout())) {
        LOG.warn(
            "{}: connections to {} still open after {} s; removing it anyway",
            key,
            current.container(),
            settings.drainTimeout().toSeconds());
      }
      docker.run(SHORT, "rm", "-f", current.container());
    }
  }

  /** Why the image is not deployed over what serves the app, or null to deploy it. */
  private static String staleness(String eventId, ImageReady image, Serving current) {
    if (eventId.equals(current.eventId()) || image.buildId().equals(current.image().buildId())) {
      return "build " + image.buildId() + " already serves " + image.tenant() + "/" + image.app();
    }
    if (image.finishedAt() != null
        && current.image().finishedAt() != null
        && !image.finishedAt().isAfter(current.image().finishedAt())) {
      return "build "
          + image.buildId()
          + " finished at "
          + image.finishedAt()
          + ", not after build "
          + current.image().buildId()
          + " that serves the app (finished at "
          + current.image().finishedAt()
          + "): the deployer never rolls back";
    }
    return null;
  }

  /** The daemon's name of the image, loading or pulling it first when needed. */
  private String ensureImage(String image) throws IOException, InterruptedException {
    if (image.startsWith("tar:")) {
      String output = docker.check(DOCKER_TIMEOUT, "load", "-i", image.substring("tar:".length()));
      Matcher loaded = LOADED.matcher(output);
      String name = null;
      while (loaded.find()) {
        name = loaded.group(1);
      }
      if (name == null) {
        throw new IOException("docker load of " + image + " named no image: " + output);
      }
      return name;
    }
    if (image.startsWith("docker:")) {
      return image.substring("docker:".length());
    }
    if (!docker.run(SHORT, "image", "inspect", image).ok()) {
      docker.check(DOCKER_TIMEOUT, "pull", image);
    }
    return image;
  }

  private record Health(boolean healthy, int hostPort, String code, String problem) {}

  private Health awaitHealthy(String name) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + settings.healthTimeout().toNanos();
    int hostPort = -1;
    while (true) {
      if (hostPort < 0) {
        DockerCli.Result port = docker.run(SHORT, "port", name, CONTAINER_PORT + "/tcp");
        if (port.ok()) {
          Matcher m = Pattern.compile("127\\.0\\.0\\.1:(\\d+)").matcher(port.output());
          if (m.find()) {
            hostPort = Integer.parseInt(m.group(1));
          }
        }
      }
      if (hostPort > 0 && answers(hostPort)) {
        return new Health(true, hostPort, null, null);
      }
      String[] state =
          docker
              .check(SHORT, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name)
              .split(" ");
      if (!state[0].equals("running") && !state[0].equals("created")) {
        return new Health(
            false,
            hostPort,
            "deploy::exited",
            "exited with status "
                + (state.length > 1 ? state[1] : "?")
                + " before it answered HTTP on $PORT");
      }
      if (System.nanoTime() > deadline) {
        return new Health(
            false,
            hostPort,
            "deploy::unhealthy",
            "did not answer HTTP GET / on $PORT below 500 within "
                + settings.healthTimeout().toSeconds()
                + " s");
      }
      Thread.sleep(settings.healthInterval().toMillis());
    }
  }

  private boolean answers(int port) throws InterruptedException {
    try {
      HttpResponse<Void> response =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      return response.statusCode() < 500;
    } catch (IOException e) {
      return false;
    }
  }

  private List<String> logTail(String name) throws IOException, InterruptedException {
    DockerCli.Result logs = docker.run(SHORT, "logs", "--tail", String.valueOf(LOG_TAIL), name);
    if (logs.output().isEmpty()) {
      return List.of();
    }
    List<String> lines = new ArrayList<>(Arrays.asList(logs.output().split("\\R")));
    return lines.subList(Math.max(0, lines.size() - LOG_TAIL), lines.size());
  }

  /** What docker said was wrong, without its usage hint. */
  private static String dockerError(String output) {
    return Arrays.stream(output.strip().split("\\R"))
        .filter(line -> !line.isBlank() && !line.startsWith("Run 'docker "))
        .reduce((a, b) -> a + " " + b)
        .orElse(output);
  }

  static String containerName(ImageReady image) {
    String build =
        image.buildId().startsWith("b-") ? image.buildId().substring(2) : image.buildId();
    return ("kiln-" + image.tenant() + "-" + image.app() + "-" + build)
        .replaceAll("[^A-Za-z0-9_.-]", "_");
  }

  private static String shortCommit(ImageReady image) {
    return image.commit().length() > 12 ? image.commit().substring(0, 12) : image.commit();
  }

  private static URI url(StablePort proxy) {
    return URI.create("http://127.0.0.1:" + proxy.port());
  }

  /** Stops and removes every container this deployer runs and closes the stable ports. */
  @Override
  public synchronized void close() {
    for (Serving s : serving.values()) {
      s.proxy().close();
      try {
        docker.run(SHORT, "rm", "-f", s.container());
      } catch (IOException e) {
        LOG.warn("could not remove {}: {}", s.container(), e.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    serving.clear();
  }
}
