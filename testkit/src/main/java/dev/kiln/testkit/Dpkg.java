package dev.kiln.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** What {@link DebianPythonPackages} asks of Debian's package database; tests give a fake one. */
interface Dpkg {

  /** Whether {@code debianPackage} is installed (not merely known, or removed with its config). */
  boolean isInstalled(String debianPackage);

  /** The paths the installed package owns, as {@code dpkg -L} lists them (directories too). */
  List<Path> files(String debianPackage);

  /** The package's raw {@code Depends} field, e.g. {@code "python3-tz, python3:any"}. */
  String depends(String debianPackage);

  /** This machine's dpkg database, through {@code dpkg-query}. */
  static Dpkg system() {
    return new SystemDpkg();
  }

  final class SystemDpkg implements Dpkg {
    private static final long TIMEOUT_SECONDS = 60;

    @Override
    public boolean isInstalled(String debianPackage) {
      Output status = query("-W", "-f=${Status}", debianPackage);
      return status.exitCode() == 0 && status.text().strip().endsWith(" installed");
    }

    @Override
    public List<Path> files(String debianPackage) {
      Output listing = query("-L", debianPackage);
      if (listing.exitCode() != 0) {
        throw new DebianPackageNotInstalledException(
            debianPackage, "dpkg-query -L " + debianPackage + " failed: " + listing.text().strip());
      }
      List<Path> files = new ArrayList<>();
      // Other lines ("diverted by …", "package diverts others to: …") are not owned paths.
      listing.text().lines().filter(line -> line.startsWith("/")).map(Path::of).forEach(files::add);
      return files;
    }

    @Override
    public String depends(String debianPackage) {
      Output depends = query("-W", "-f=${Depends}", debianPackage);
      if (depends.exitCode() != 0) {
        throw new DebianPackageNotInstalledException(
            debianPackage, "dpkg-query -W " + debianPackage + " failed: " + depends.text().strip());
      }
      return depends.text().strip();
    }

    private record Output(int exitCode, String text) {}

    private static Output query(String... args) {
      List<String> command = new ArrayList<>(List.of("dpkg-query"));
      command.addAll(List.of(args));
      String debianPackage = args[args.length - 1];
      Process process;
      try {
        process = new ProcessBuilder(command).redirectErrorStream(true).start();
      } catch (IOException e) {
        throw new DebianPackageNotInstalledException(
            debianPackage,
            "dpkg-query could not be run ("
                + e.getMessage()
                + "), so "
                + debianPackage
                + " cannot be found: Debian packages need a Debian or Ubuntu machine");
      }
      try {
        String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          throw new IllegalStateException(
              String.join(" ", command) + " did not finish in " + TIMEOUT_SECONDS + "s");
        }
        return new Output(process.exitValue(), text);
      } catch (IOException e) {
        throw new UncheckedIOException("could not read the output of " + command, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while running " + command, e);
      }
    }
  }
}
