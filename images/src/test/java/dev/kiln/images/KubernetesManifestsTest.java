package dev.kiln.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.events.Topics;
import dev.kiln.worker.WorkerConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every manifest under {@code deploy/kubernetes/} is valid against the official Kubernetes and KEDA
 * schemas (npm packages {@code kubernetes-models} and {@code @kubernetes-models/keda}, run by node
 * through {@code deploy/kubernetes/validate/validate.mjs}), and says what the code does.
 */
class KubernetesManifestsTest {
  static final Path MANIFESTS = Path.of("../deploy/kubernetes").toAbsolutePath().normalize();
  static final Path VALIDATOR = Path.of("target/kubernetes-validate").toAbsolutePath();

  @BeforeAll
  static void installTheValidator() throws Exception {
    boolean node = run(List.of("node", "--version"), Path.of(".")).exit == 0;
    if (!node) {
      String how = "install Node.js and npm (apt-get install nodejs npm; .ci/run does)";
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but node is not installed, so the manifests cannot be validated; " + how);
      }
      assumeTrue(false, "node is not installed; " + how);
    }
    Files.createDirectories(VALIDATOR);
    for (String file : List.of("package.json", "package-lock.json", "validate.mjs")) {
      Files.copy(
          MANIFESTS.resolve("validate").resolve(file),
          VALIDATOR.resolve(file),
          StandardCopyOption.REPLACE_EXISTING);
    }
    if (!Files.isDirectory(VALIDATOR.resolve("node_modules/kubernetes-models"))) {
      Result install = run(List.of("npm", "ci", "--no-audit", "--no-fund"), VALIDATOR);
      assertThat(install.exit).as("npm ci said:\n" + install.output).isZero();
    }
  }

  @Test
  void everyManifestIsValidAgainstTheKubernetesAndKedaSchemas() throws Exception {
    List<Path> manifests;
    try (Stream<Path> files = Files.walk(MANIFESTS)) {
      manifests =
          files
              .filter(file -> file.toString().endsWith(".yaml"))
              .filter(file -> !file.startsWith(MANIFESTS.resolve("validate")))
              .sorted()
              .toList();
    }
    assertThat(manifests).hasSizeGreaterThanOrEqualTo(7);

    Result result = validate(manifests);

    assertThat(result.exit).as(result.output).isZero();
    assertThat(result.output)
        .contains(
            "Namespace/kiln",
            "ConfigMap/kiln-config",
            "Secret/kiln-secrets",
            "StatefulSet/kafka",
            "Deployment/coordinator",
            "Deployment/worker",
            "Deployment/cache-service",
            "Service/coordinator",
            "Service/cache-service",
            "ScaledObject/worker",
            "ScaledObject/cache-service")
        .doesNotContain("invalid");
  }

  @Test
  void theValidatorRejectsABrokenManifestSayingWhatIsWrong(@TempDir Path work) throws Exception {
    Path worker = work.resolve("worker.yaml");
    Files.writeString(
        worker,
        Files.readString(MANIFESTS.resolve("45-worker.yaml"))
            .replace("replicas: 3", "replicas: three"));
    Path scaledObject = work.resolve("scaled-object.yaml");
    Files.writeString(
        scaledObject,
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: worker}\n"
            + "spec: {scaleTargetRef: {name: worker}}\n");
    Path unknown = work.resolve("unknown.yaml");
    Files.writeString(unknown, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");

    Result result = validate(List.of(worker, scaledObject, unknown));

    assertThat(result.exit).isEqualTo(1);
    assertThat(result.output)
        .contains("invalid " + worker + " Deployment/worker: /spec/replicas must be integer")
        .contains("invalid " + scaledObject + " ScaledObject/worker: /spec must have required")
        .contains("triggers")
        .contains("no schema for apiVersion example.com/v1 kind Widget");
  }

  @Test
  void workersScaleOnTheLagOfTheirRealConsumerGroupOnKilnTasks() throws IOException {
    String autoscaling = Files.readString(MANIFESTS.resolve("50-autoscaling.yaml"));
    Topics topics = Topics.withPrefix("");

    assertThat(value(autoscaling, "consumerGroup")).isEqualTo(WorkerConfig.DEFAULT_CONSUMER_GROUP);
    assertThat(value(autoscaling, "topic")).isEqualTo(topics.tasks());
    int partitions =
        topics.all().stream()
            .filter(spec -> spec.name().equals(topics.tasks()))
            .findFirst()
            .orElseThrow()
            .partitions();
    assertThat(Integer.parseInt(value(autoscaling, "maxReplicaCount"))).isEqualTo(partitions);
  }

  private static String value(String yaml, String key) {
    Matcher matcher = Pattern.compile("(?m)^\\s*" + key + ":\\s*\"?([^\"\\s#]+)").matcher(yaml);
    assertThat(matcher.find()).as(key + " in\n" + yaml).isTrue();
    return matcher.group(1);
  }

  private static Result validate(List<Path> files) throws Exception {
    List<String> command = new ArrayList<>(List.of("node", "validate.mjs"));
    files.forEach(file -> command.add(file.toString()));
    return run(command, VALIDATOR);
  }

  record Result(int exit, String output) {}

  private static Result run(List<String> command, Path directory) throws Exception {
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .directory(directory.toFile())
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
    } catch (IOException notInstalled) {
      return new Result(127, notInstalled.getMessage());
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(5, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      fail(command + " did not finish");
    }
    return new Result(process.exitValue(), output);
  }
}
