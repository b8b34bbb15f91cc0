package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.events.PushEvent;
import dev.kiln.testkit.GitRepo;
import dev.kiln.testkit.HeadlessChromium;
import dev.kiln.testkit.LocalRegistry;
import dev.kiln.testkit.PythonBuildTools;
import dev.kiln.testkit.StaticIndexServer;
import dev.kiln.testkit.WheelBuilder;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in a real browser (Debian's headless Chromium) on a running farm: the page is open
 * before the push, shows the build appear and finish, its steps and its log, and shows hostile text
 * as text. The screenshot is saved to {@code cli/target/dashboard-screenshot.png}.
 *
 * <p>Kept cheap for CI: one farm with one worker, one app, one build of one small wheel.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardBrowserTest {
  /** The module's build directory: surefire runs tests in the module's base directory. */
  static final Path SCREENSHOT = Path.of("target", "dashboard-screenshot.png");

  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(3);
  private static final String HOSTILE = "<img src=x onerror=\"window.kilnPwned=1\">";

  @TempDir static Path temp;
  private StaticIndexServer index;
  private LocalRegistry registry;
  private Farm farm;
  private HeadlessChromium browser;
  private final StringWriter farmLog = new StringWriter();

  @BeforeAll
  void startFarmAndBrowser() throws Exception {
    if (!HeadlessChromium.isInstalled()) {
      String why = "no " + HeadlessChromium.DEFAULT_BINARY + "; install Debian's chromium package";
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but " + why);
      }
      assumeTrue(false, why);
    }
    Path wheels = Files.createDirectories(temp.resolve("wheels"));
    // Builds run pip from the index.
    PythonBuildTools.copyTo(wheels);
    WheelBuilder.wheel("helper-lib", "0.5")
        .module("helper_lib/__init__.py", "NAME = 'helper'\n")
        .writeTo(wheels);
    index = StaticIndexServer.start(wheels);
    registry = LocalRegistry.start();
    farm =
        Farm.start(
            FarmSettings.local(
                temp.resolve("home"), index.indexUrl(), registry.address(), 1, "offline"),
            farmLog::append);
    browser = HeadlessChromium.start();
  }

  @AfterAll
  void stop() throws Exception {
    if (browser != null) {
      browser.close();
    }
    if (farm != null) {
      farm.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (index != null) {
      index.close();
    }
  }

  @Test
  void aPushedBuildAppearsFinishesAndShowsItsStepsAndLog() throws Exception {
    String operatorToken = FarmSecrets.clientToken(null, temp.resolve("home"));
    // The token goes in the fragment: the browser never sends it to the server.
    browser.navigate(farm.endpoints().coordinatorUrl() + "/dashboard#token=" + operatorToken);
    browser.waitUntil(
        "document.body.dataset.loaded === 'true'",
        Duration.ofSeconds(20),
        "document.getElementById('status').textContent");
    assertThat(browser.evaluate("location.href").asText()).doesNotContain(operatorToken);

    GitRepo repo = GitRepo.init(temp.resolve("home/repos/demo/hello"));
    String commit =
        repo.commit(
            Map.of(
                "app.py", "print('hello')\n",
                "requirements.txt", "helper-lib==0.5\n",
                ".python-version", "3.11\n",
                "Procfile", "web: python app.py\n",
                // Build output is hostile input: the page must show it as text.
                "bin/post_compile", "#!/bin/sh\necho '" + HOSTILE + "'\n"),
            "an app whose build prints markup");
    PushEvent push =
        new PushEvent("demo", "hello", repo.url(), "main", commit, null, Map.of(), Instant.now());
    new CoordinatorClient(farm.endpoints().coordinatorUrl(), operatorToken).push(push);

    String row =
        "document.querySelector('#recent-builds tr[data-build-id=\"" + push.buildId() + "\"]')";
    String tables = "document.querySelector('main').innerText";
    browser.waitUntil(row + " !== null", Duration.ofSeconds(30), tables);
    browser.evaluate(row + ".click()");
    String state = row + ".querySelector('.state').textContent";
    try {
      browser.waitUntil(
          "['succeeded', 'failed', 'cancelled'].includes(" + state + ")", BUILD_TIMEOUT, tables);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\nfarm:\n" + farmLog, e);
    }
    assertThat(browser.evaluate(state).asText())
        .as(() -> browser.evaluate(tables).asText() + "\nfarm:\n" + farmLog)
        .isEqualTo("succeeded");
    browser.waitUntil(
        "document.getElementById('log-state').textContent === '(succeeded)'",
        Duration.ofSeconds(30),
        "document.getElementById('build-detail').innerText");
    browser.waitUntil(
        "document.querySelectorAll('#detail-steps tbody tr').length === 3",
        Duration.ofSeconds(10),
        "document.getElementById('build-detail').innerText");

    assertThat(browser.evaluate("document.querySelectorAll('#build-log .log-line').length").asInt())
        .isPositive();
    assertThat(browser.evaluate("document.getElementById('build-log').textContent").asText())
        .contains(HOSTILE);
    assertThat(browser.evaluate("document.querySelector('#build-log img') === null").asBoolean())
        .isTrue();
    assertThat(
            browser
                .evaluate(
                    "[...document.querySelectorAll('#detail-steps tbody tr')].map(r =>"
                        + " r.querySelector('.step').textContent + ':' +"
                        + " r.querySelector('.cache').textContent).join(' ')")
                .asText())
        .isEqualTo("detect:ran install:ran assemble:ran");
    browser.waitUntil(
        "document.getElementById('summary-finished').textContent === '1'"
            + " && document.getElementById('summary-hit-ratio').textContent === '0 % (0 of 1)'",
        Duration.ofSeconds(10), "document.getElementById('summary').innerText");
    browser.screenshot(SCREENSHOT);
    assertThat(Files.size(SCREENSHOT)).isPositive();

    // Tenant and app names reach the page from the API too: rendered as text, never as markup.
    assertThat(
            browser
                .evaluate(
                    "(() => { const body = document.createElement('tbody');"
                        + " window.kilnDashboard.renderBuilds(body, [{buildId: 'b-1', tenant: "
                        + quoted(HOSTILE)
                        + ", app: "
                        + quoted(HOSTILE)
                        + ", state: 'QUEUED', createdAt: null, updatedAt: null}], null, '');"
                        + " return body.querySelector('img') === null"
                        + " && body.textContent.includes("
                        + quoted(HOSTILE)
                        + "); })()")
                .asBoolean())
        .isTrue();
    Thread.sleep(200); // an onerror handler, had an <img> been made, would have run by now
    assertThat(browser.evaluate("window.kilnPwned === undefined").asBoolean()).isTrue();
    // A skipped INSTALL is "cached" only when there was something to install.
    assertThat(
            browser
                .evaluate(
                    "['pip', null].map(pm => window.kilnDashboard.cacheStatus("
                        + "{plan: {packageManager: pm}}, {kind: 'INSTALL', skipped: true}))"
                        + ".join(',')")
                .asText())
        .isEqualTo("cached,not needed");

    // Another tenant's token, typed into the page: that tenant's (empty) view, nothing of demo's.
    String otherToken =
        new CoordinatorClient(farm.endpoints().coordinatorUrl(), operatorToken)
            .send("POST", "/v1/tenants", "{\"name\":\"other\"}")
            .path("token")
            .asText();
    browser.evaluate(
        "document.getElementById('token').value = "
            + quoted(otherToken)
            + "; document.querySelector('#token-form button[type=submit]').click()");
    browser.waitUntil(
        "document.getElementById('scope').textContent === 'tenant other'"
            + " && document.querySelector('#recent-builds tr.empty') !== null",
        Duration.ofSeconds(10),
        tables);
    assertThat(browser.evaluate("document.querySelectorAll('tr[data-build-id]').length").asInt())
        .isZero();
    assertThat(browser.evaluate("document.getElementById('summary-finished').textContent").asText())
        .isEqualTo("0");

    // The page works under its own Content-Security-Policy: nothing was refused.
    assertThat(browser.pageProblems()).isEmpty();
  }

  /** A JavaScript string literal. */
  private static String quoted(String text) {
    return com.fasterxml.jackson.databind.node.TextNode.valueOf(text).toString();
  }
}
