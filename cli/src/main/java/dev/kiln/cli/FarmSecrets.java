package dev.kiln.cli;

import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.Tokens;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The farm's credentials in {@code <home>/secrets/}: the operator token (what {@code kiln push},
 * {@code status} and {@code tenants} send), the farm token (workers to the cache-service) and the
 * secret key that seals tenant secrets. Created on the first {@code kiln up} (directory 0700, files
 * 0600) and reused afterwards, so tokens stay valid across restarts.
 *
 * <p>Environment variables win over the files: {@code KILN_OPERATOR_TOKEN}, {@code
 * KILN_FARM_TOKEN}, {@code KILN_SECRET_KEY}.
 */
public record FarmSecrets(String operatorToken, String farmToken, String secretKey) {
  public static final String OPERATOR_TOKEN_FILE = "operator-token";
  public static final String FARM_TOKEN_FILE = "farm-token";
  public static final String SECRET_KEY_FILE = "secret-key";

  private static final Set<PosixFilePermission> DIR_MODE =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE_MODE =
      PosixFilePermissions.fromString("rw-------");

  @Override
  public String toString() {
    return "FarmSecrets[****]"; // never print a credential by accident
  }

  public static Path directory(Path home) {
    return home.resolve("secrets");
  }

  /** Reads the farm's secrets, creating whatever is missing. */
  public static FarmSecrets loadOrCreate(Path home) {
    Path dir = directory(home);
    try {
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir);
      }
      restrict(dir, DIR_MODE);
      String operator =
          fromEnvOr(
              "KILN_OPERATOR_TOKEN",
              dir.resolve(OPERATOR_TOKEN_FILE),
              () -> Tokens.newToken(Tokens.Kind.OPERATOR));
      String farm =
          fromEnvOr(
              "KILN_FARM_TOKEN",
              dir.resolve(FARM_TOKEN_FILE),
              () -> Tokens.newToken(Tokens.Kind.FARM));
      String key =
          fromEnvOr("KILN_SECRET_KEY", dir.resolve(SECRET_KEY_FILE), SecretBox::newKeyBase64);
      if (!Tokens.looksLike(Tokens.Kind.OPERATOR, operator)) {
        throw new UserError(
            "the operator token (KILN_OPERATOR_TOKEN or "
                + dir.resolve(OPERATOR_TOKEN_FILE)
                + ") is not a kiln_op_… token; delete the file to get a new one",
            1);
      }
      if (!Tokens.looksLike(Tokens.Kind.FARM, farm)) {
        throw new UserError(
            "the farm token (KILN_FARM_TOKEN or "
                + dir.resolve(FARM_TOKEN_FILE)
                + ") is not a kiln_farm_… token; delete the file to get a new one",
            1);
      }
      try {
        SecretBox.fromBase64(key);
      } catch (IllegalArgumentException e) {
        throw new UserError(
            "the secret key (KILN_SECRET_KEY or "
                + dir.resolve(SECRET_KEY_FILE)
                + ") is unusable: "
                + e.getMessage(),
            1);
      }
      return new FarmSecrets(operator, farm, key);
    } catch (IOException e) {
      throw new UserError("cannot create the farm's secrets in " + dir + ": " + e.getMessage(), 1);
    }
  }

  /**
   * The token a command sends: {@code --token}, else {@code KILN_TOKEN}, else {@code
   * KILN_OPERATOR_TOKEN}, else the farm's operator token file.
   */
  public static String clientToken(String explicit, Path home) {
    if (explicit != null && !explicit.isBlank()) {
      return explicit.strip();
    }
    for (String variable : new String[] {"KILN_TOKEN", "KILN_OPERATOR_TOKEN"}) {
      String env = System.getenv(variable);
      if (env != null && !env.isBlank()) {
        return env.strip();
      }
    }
    Path file = directory(home.toAbsolutePath()).resolve(OPERATOR_TOKEN_FILE);
    try {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UserError(
          "no token to send to the coordinator: pass --token TOKEN or set KILN_TOKEN (a tenant"
              + " token from `kiln tenants create`), or run on the farm's machine where "
              + file
              + " holds the operator token",
          2);
    }
  }

  private static String fromEnvOr(String env, Path file, java.util.function.Supplier<String> fresh)
      throws IOException {
    String value = System.getenv(env);
    if (value != null && !value.isBlank()) {
      return value.strip();
    }
    if (Files.isRegularFile(file)) {
      restrict(file, FILE_MODE);
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    }
    String created = fresh.get();
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE_MODE));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    } catch (FileAlreadyExistsException raced) {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    }
    Files.writeString(
        file, created + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    return created;
  }

  private static void restrict(Path path, Set<PosixFilePermission> mode) throws IOException {
    try {
      Files.setPosixFilePermissions(path, mode);
    } catch (UnsupportedOperationException notPosix) {
      // Windows: the directory inherits the user profile's ACL.
    }
  }
}
