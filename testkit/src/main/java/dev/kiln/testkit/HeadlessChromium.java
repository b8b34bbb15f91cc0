package dev.kiln.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A headless Chromium (Debian's {@code chromium} package) driven over the Chrome DevTools Protocol,
 * for tests of web pages: start, navigate, evaluate JavaScript, take a screenshot, close. Like a
 * Testcontainers module it owns its process: {@link #close()} kills the browser and every process
 * it started, and deletes its profile directory.
 *
 * <p>Only the JDK's HTTP and WebSocket clients are used: no driver download, no Selenium. One page
 * (the browser's first tab) is driven.
 */
public final class HeadlessChromium implements AutoCloseable {
  public static final Path DEFAULT_BINARY = Path.of("/usr/bin/chromium");

  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
  private static final Pattern DEVTOOLS_LINE =
      Pattern.compile("DevTools listening on (ws://([^/\\s]+)/\\S+)");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process process;
  private final Path profile;
  private final Deque<String> stderrTail;
  private final WebSocket page;
  private final AtomicInteger nextId = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<JsonNode>> awaitedEvents = new ConcurrentHashMap<>();
  private final List<String> pageProblems = new CopyOnWriteArrayList<>();

  private HeadlessChromium(
      Process process, Path profile, Deque<String> stderrTail, String devtoolsHostPort)
      throws IOException, InterruptedException {
    this.process = process;
    this.profile = profile;
    this.stderrTail = stderrTail;
    this.page = connectToFirstPage(devtoolsHostPort);
    send("Page.enable", JSON.createObjectNode());
    send("Runtime.enable", JSON.createObjectNode());
    send("Log.enable", JSON.createObjectNode());
  }

  /** Whether Debian's chromium is installed where {@link #start()} looks for it. */
  public static boolean isInstalled() {
    return Files.isExecutable(DEFAULT_BINARY);
  }

  /** Starts {@link #DEFAULT_BINARY} headless with a fresh profile and a 1280×900 window. */
  public static HeadlessChromium start() throws IOException, InterruptedException {
    return start(DEFAULT_BINARY);
  }

  public static HeadlessChromium start(Path binary) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("kiln-chromium-");
    Process process =
        new ProcessBuilder(
                binary.toString(),
                "--headless=new",
                // Containers and CI runners rarely allow the user namespaces the sandbox needs.
                "--no-sandbox",
                "--disable-gpu",
                // /dev/shm is often 64 MB in containers; renderers crash when it fills.
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
                "--user-data-dir=" + profile,
                "about:blank")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    Deque<String> stderrTail = new ArrayDeque<>();
    CompletableFuture<String> devtools = new CompletableFuture<>();
    Thread reader = new Thread(() -> readStderr(process, stderrTail, devtools), "chromium-stderr");
    reader.setDaemon(true); // keeps draining stderr so the browser never blocks on a full pipe
    reader.start();
    boolean started = false;
    try {
      String hostPort = devtools.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      HeadlessChromium browser = new HeadlessChromium(process, profile, stderrTail, hostPort);
      started = true;
      return browser;
    } catch (ExecutionException | TimeoutException | IOException | RuntimeException e) {
      throw new IOException(
          "chromium did not start its DevTools endpoint; its stderr ended with:\n"
              + tail(stderrTail),
          e);
    } finally {
      if (!started) { // also when interrupted: no browser outlives a failed start
        kill(process);
        deleteRecursively(profile);
      }
    }
  }

  private static void readStderr(
      Process process, Deque<String> tail, CompletableFuture<String> devtools) {
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        Matcher m = DEVTOOLS_LINE.matcher(line);
        if (m.find()) {
          devtools.complete(m.group(2));
        }
        synchronized (tail) {
          tail.addLast(line);
          if (tail.size() > 40) {
            tail.removeFirst();
          }
        }
      }
    } catch (IOException e) {
      // The process ended; what it said is in the tail.
    }
    devtools.completeExceptionally(new IOException("chromium exited before DevTools started"));
  }

  private static String tail(Deque<String> tail) {
    synchronized (tail) {
      return String.join("\n", tail);
    }
  }

  /** The browser's first tab, found through the DevTools HTTP endpoint's target list. */
  private WebSocket connectToFirstPage(String hostPort) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> targets =
        http.send(
            HttpRequest.newBuilder(URI.create("http://" + hostPort + "/json/list"))
                .timeout(COMMAND_TIMEOUT)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    String pageUrl = null;
    for (JsonNode target : JSON.readTree(targets.body())) {
      if ("page".equals(target.path("type").asText())) {
        pageUrl = target.path("webSocketDebuggerUrl").asText();
        break;
      }
    }
    if (pageUrl == null) {
      throw new IOException("chromium lists no page to drive: " + targets.body());
    }
    try {
      return http.newWebSocketBuilder()
          .connectTimeout(COMMAND_TIMEOUT)
          .buildAsync(URI.create(pageUrl), new Messages())
          .get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("could not connect to chromium's page at " + pageUrl, e);
    }
  }

  /** Collects text frames into messages: answers complete their command, events are dispatched. */
  private final class Messages implements WebSocket.Listener {
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String message = partial.toString();
        partial.setLength(0);
        dispatch(message);
      }
      socket.request(1);
      return null;
    }

    @Override
    public void onError(WebSocket socket, Throwable error) {
      pending.values().forEach(f -> f.completeExceptionally(error));
    }
  }

  private void dispatch(String message) {
    JsonNode json;
    try {
      json = JSON.readTree(message);
    } catch (IOException e) {
      return;
    }
    if (json.has("id")) {
      CompletableFuture<JsonNode> answer = pending.remove(json.get("id").asInt());
      if (answer == null) {
        return;
      }
      if (json.has("error")) {
        answer.completeExceptionally(
            new IllegalStateException("DevTools refused the command: " + json.get("error")));
      } else {
        answer.complete(json.path("result"));
      }
      return;
    }
    String method = json.path("method").asText();
    JsonNode params = json.path("params");
    switch (method) {
      case "Runtime.exceptionThrown" ->
          pageProblems.add("exception: " + params.path("exceptionDetails"));
      case "Log.entryAdded" -> {
        JsonNode entry = params.path("entry");
        if (!"verbose".equals(entry.path("level").asText())) {
          pageProblems.add(entry.path("level").asText() + ": " + entry.path("text").asText());
        }
      }
      case "Runtime.consoleAPICalled" -> {
        if ("error".equals(params.path("type").asText())) {
          pageProblems.add("console.error: " + params.path("args"));
        }
      }
      default -> {}
    }
    CompletableFuture<JsonNode> awaited = awaitedEvents.remove(method);
    if (awaited != null) {
      awaited.complete(params);
    }
  }

  /** Sends one DevTools command to the page and waits for its answer (the command's result). */
  public JsonNode send(String method, ObjectNode params) {
    int id = nextId.incrementAndGet();
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    pending.put(id, answer);
    ObjectNode command = JSON.createObjectNode().put("id", id).put("method", method);
    command.set("params", params);
    page.sendText(command.toString(), true);
    try {
      return answer.get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for " + method, e);
    } catch (ExecutionException | TimeoutException e) {
      pending.remove(id);
      throw new IllegalStateException(
          method + " got no answer from chromium; its stderr ended with:\n" + tail(stderrTail), e);
    }
  }

  /** Opens {@code url} in the page and waits for its load event (scripts loaded and run). */
  public void navigate(String url) {
    CompletableFuture<JsonNode> loaded = new CompletableFuture<>();
    awaitedEvents.put("Page.loadEventFired", loaded);
    JsonNode navigated = send("Page.navigate", JSON.createObjectNode().put("url", url));
    if (navigated.hasNonNull("errorText")) {
      throw new IllegalStateException(
          "chromium could not open " + url + ": " + navigated.get("errorText").asText());
    }
    try {
      loaded.get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(url + " did not finish loading", e);
    }
  }

  /**
   * Evaluates a JavaScript expression in the page (awaiting it if it is a promise) and returns its
   * value as JSON; a thrown exception fails the call with the page's message.
   */
  public JsonNode evaluate(String expression) {
    JsonNode answer =
        send(
            "Runtime.evaluate",
            JSON.createObjectNode()
                .put("expression", expression)
                .put("returnByValue", true)
                .put("awaitPromise", true));
    if (answer.has("exceptionDetails")) {
      throw new IllegalStateException(
          "the page threw evaluating " + expression + ": " + answer.get("exceptionDetails"));
    }
    return answer.path("result").path("value");
  }

  /**
   * Evaluates {@code condition} every 200 ms until it is true, and fails with {@code describe}'s
   * value (evaluated in the page then) if it is not within {@code timeout}.
   */
  public void waitUntil(String condition, Duration timeout, String describe) {
    Instant deadline = Instant.now().plus(timeout);
    while (!evaluate("Boolean(" + condition + ")").asBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError(
            "the page did not reach `"
                + condition
                + "` within "
                + timeout
                + "; it shows: "
                + evaluate(describe)
                + "\npage problems: "
                + pageProblems);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /** Console errors, uncaught exceptions and browser log entries (such as CSP violations). */
  public List<String> pageProblems() {
    return new ArrayList<>(pageProblems);
  }

  /** Saves a PNG of the visible page to {@code file} (its directory is created). */
  public Path screenshot(Path file) throws IOException {
    JsonNode shot = send("Page.captureScreenshot", JSON.createObjectNode().put("format", "png"));
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.write(file, Base64.getDecoder().decode(shot.path("data").asText()));
    return file;
  }

  /** Kills the browser and all its helper processes and deletes its profile. */
  @Override
  public void close() {
    page.abort();
    kill(process);
    deleteRecursively(profile);
  }

  private static void kill(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // A leftover temp profile is harmless.
    }
  }
}
