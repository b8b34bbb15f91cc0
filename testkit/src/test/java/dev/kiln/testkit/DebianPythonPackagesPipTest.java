package dev.kiln.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wheels made from this machine's Debian packages, installed by real pip with no index but their
 * directory and imported by the machine's python3. CI installs the packages ({@code .ci/run});
 * elsewhere a missing package skips the test with the apt-get command that installs it.
 */
class DebianPythonPackagesPipTest {
  @TempDir Path work;

  @Test
  void djangoInstallsFromItsWheelsAndBringsItsAdminStaticFiles() throws Exception {
    Path wheels = work.resolve("wheels");
    List<Path> written = wheelsWithDependencies("python3-django", wheels);
    Path target = work.resolve("target");

    Pip.Result install = install(wheels, target, "django");
    Pip.Result imported =
        Pip.runPython(
            work, target, "import django; print(django.get_version()); print(django.__file__)");

    assertThat(written)
        .extracting(path -> path.getFileName().toString())
        .contains("django-3.2.25-py3-none-any.whl")
        .anyMatch(name -> name.startsWith("asgiref-"))
        .anyMatch(name -> name.startsWith("sqlparse-"))
        .anyMatch(name -> name.startsWith("pytz-"));
    assertThat(install.exitCode()).as(install.output()).isZero();
    assertThat(imported.exitCode()).as(imported.output()).isZero();
    assertThat(imported.output().lines().toList())
        .containsExactly("3.2.25", target.resolve("django/__init__.py").toString());
    assertThat(target.resolve("django/contrib/admin/static/admin/css/base.css")).isRegularFile();
    // Debian links the admin's jQuery to libjs-jquery's file (only recommended, installed by
    // .ci/run): the wheel holds that file itself, or nothing when the link dangles.
    Path jquery = target.resolve("django/contrib/admin/static/admin/js/vendor/jquery/jquery.js");
    Path debianJquery = Path.of("/usr/share/javascript/jquery/jquery.js");
    if (Files.exists(debianJquery)) {
      assertThat(Files.isSymbolicLink(jquery)).isFalse();
      assertThat(jquery).hasSameBinaryContentAs(debianJquery);
    } else {
      assertThat(jquery).doesNotExist();
    }
    assertThat(target.resolve("bin/django-admin")).isRegularFile();
    assertThat(target.resolve("django-3.2.25.dist-info")).isDirectory();
    for (String dependency : List.of("asgiref", "sqlparse", "pytz")) {
      assertThat(target.resolve(dependency)).as(install.output()).isDirectory();
    }
  }

  @Test
  void nltkInstallsFromItsWheelsWithTheRegexExtensionModule() throws Exception {
    Path wheels = work.resolve("wheels");
    List<Path> written = wheelsWithDependencies("python3-nltk", wheels);
    Path target = work.resolve("target");

    Pip.Result install = install(wheels, target, "nltk");
    Pip.Result imported =
        Pip.runPython(
            work,
            target,
            "import nltk, regex; print(nltk.__version__); print(nltk.__file__);"
                + " print(regex.__file__); print(regex.sub(r'\\p{L}+', 'w', 'hi there'))");

    assertThat(written)
        .extracting(path -> path.getFileName().toString())
        .contains("nltk-3.8-py3-none-any.whl")
        .anyMatch(name -> name.matches("regex-[0-9.]+-cp3\\d+-cp3\\d+-linux_[a-z0-9_]+\\.whl"))
        .anyMatch(name -> name.startsWith("click-"))
        .anyMatch(name -> name.startsWith("joblib-"))
        .anyMatch(name -> name.startsWith("tqdm-"));
    assertThat(install.exitCode()).as(install.output()).isZero();
    assertThat(imported.exitCode()).as(imported.output()).isZero();
    assertThat(imported.output().lines().toList())
        .containsExactly(
            "3.8",
            target.resolve("nltk/__init__.py").toString(),
            target.resolve("regex/__init__.py").toString(),
            "w w");
  }

  /** The wheels, or a skip (a failure in CI) saying how to install the missing package. */
  private static List<Path> wheelsWithDependencies(String debianPackage, Path wheels) {
    try {
      return DebianPythonPackages.onThisMachine().wheelsWithDependencies(debianPackage, wheels);
    } catch (DebianPackageNotInstalledException e) {
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but " + e.getMessage(), e);
      }
      assumeTrue(false, e.getMessage());
      throw e;
    }
  }

  private Pip.Result install(Path wheels, Path target, String requirement) throws Exception {
    return Pip.run(
        work,
        "install",
        "--no-compile", // bytecode for thousands of Django files only slows the test down
        "--no-index",
        "--find-links",
        wheels.toString(),
        "--target",
        target.toString(),
        requirement);
  }
}
