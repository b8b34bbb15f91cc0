package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.EventCodec;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln tenants …}: the operator's view of the farm's tenants, over the admin API. */
@Command(
    name = "tenants",
    mixinStandardHelpOptions = true,
    description = {
      "Create and inspect the farm's tenants (needs the operator token; `index` also works with the"
          + " tenant's own token).",
      "Tokens are shown once; the farm keeps only their SHA-256. Index passwords are stored sealed"
          + " and shown as ****."
    },
    subcommands = {
      TenantsCommand.Create.class,
      TenantsCommand.Update.class,
      TenantsCommand.ListTenants.class,
      TenantsCommand.Show.class,
      TenantsCommand.Token.class,
      TenantsCommand.Index.class
    })
public final class TenantsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static String path(String name) {
    return "/v1/tenants/" + URLEncoder.encode(name, StandardCharsets.UTF_8);
  }

  static void printTenant(PrintWriter out, JsonNode t) {
    out.println("Tenant " + t.path("name").asText());
    out.println(
        "  Sources:  "
            + join(t.path("effectiveSources"))
            + (t.path("sources").isEmpty() ? " (farm default)" : ""));
    JsonNode q = t.path("quotas");
    out.printf(
        "  Quotas:   %d concurrent builds, %d queued builds, %d store bytes%n",
        q.path("concurrentBuilds").asInt(),
        q.path("queuedBuilds").asInt(),
        q.path("storeBytes").asLong());
    out.println(
        "  Buildpack: "
            + (t.hasNonNull("buildpackLevel")
                ? "level " + t.path("buildpackLevel").asInt()
                : "the farm's own rules"));
    t.path("appBuildpackLevels")
        .fields()
        .forEachRemaining(
            e ->
                out.printf(
                    "  App level: %s builds at level %d%n", e.getKey(), e.getValue().asInt()));
    for (JsonNode i : t.path("indexes")) {
      out.printf(
          "  Index:    %s %s%s%s%n",
          i.path("name").asText(),
          i.path("url").asText(),
          i.hasNonNull("username") ? " user " + i.path("username").asText() : "",
          i.hasNonNull("password") ? " password " + i.path("password").asText() : "");
    }
    for (JsonNode a : t.path("apps")) {
      out.printf(
          "  App:      %s linked to %s %s branch %s%n",
          a.path("app").asText(),
          a.path("forge").asText(),
          a.path("repoUrl").asText(),
          a.path("branch").asText());
    }
    for (JsonNode tok : t.path("tokens")) {
      out.printf(
          "  Token:    %s (created %s)%n", tok.path("id").asText(), tok.path("createdAt").asText());
    }
  }

  private static String join(JsonNode array) {
    List<String> values = new java.util.ArrayList<>();
    array.forEach(v -> values.add(v.asText()));
    return values.isEmpty() ? "(none)" : String.join(", ", values);
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = "Create a tenant and print its first token (shown only once).")
  public static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;

    @Parameters(paramLabel = "NAME", description = "Tenant name (lowercase letters, digits, '-').")
    String name;

    @Mixin Settings settings;

    @Override
    public Integer call() {
      ObjectNode body = EventCodec.mapper().createObjectNode().put("name", name);
      settings.putInto(body);
      JsonNode created = connection.client().send("POST", "/v1/tenants", body.toString());
      PrintWriter out = spec.commandLine().getOut();
      printTenant(out, created);
      out.println();
      out.println("Token (shown only now; Kiln keeps only its SHA-256):");
      out.println(created.path("token").asText());
      out.flush();
      return 0;
    }
  }

  /**
   * A tenant's sources and quotas, as {@code create} and {@code update} take them; what is not
   * given is left out of the request (create: the farm's defaults; update: unchanged).
   */
  public static final class Settings {
    @Option(
        names = "--source",
        paramLabel = "PREFIX",
        description =
            "A repository URL prefix the tenant may build from, ending with '/' (repeatable; on update the new list replaces the old one), e.g. https://git.example.com/acme/. Default: file://<home>/repos/<name>/ only.")
    List<String> sources = List.of();

    @Option(
        names = "--concurrent-builds",
        paramLabel = "N",
        description = "Builds running at once (a new tenant gets 4).")
    Integer concurrentBuilds;

    @Option(
        names = "--queued-builds",
        paramLabel = "N",
        description = "Builds waiting at most (a new tenant gets 50).")
    Integer queuedBuilds;

    @Option(
        names = "--buildpack-version",
        paramLabel = "N|farm",
        description =
            "The classic-buildpack version whose behaviour the tenant's builds get: one of "
                + "289, 322, 351 (see docs/buildpack.md#behaviour-levels), or 'farm' for the"
                + " farm's own rules (a new tenant's default).")
    String buildpackVersion;

    @Option(
        names = "--app-buildpack-version",
        paramLabel = "APP=N|tenant",
        description =
            "A level for one app, which wins over --buildpack-version (repeatable); APP=tenant"
                + " gives the app the tenant's level again. Moves a tenant one app at a time.")
    List<String> appBuildpackVersions = List.of();

    boolean isEmpty() {
      return sources.isEmpty()
          && concurrentBuilds == null
          && queuedBuilds == null
          && buildpackVersion == null
          && appBuildpackVersions.isEmpty();
    }

    /** {@code 351} → 351, {@code farm} (or {@code tenant} for an app) → null. */
    private static Integer level(String option, String value, String reset) {
      if (value.equals(reset)) {
        return null;
      }
      try {
        return Integer.valueOf(value);
      } catch (NumberFormatException e) {
        throw new UserError(
            option
                + " takes a buildpack version number such as 289 or 351, or '"
                + reset
                + "'; '"
                + value
                + "' is neither",
            2);
      }
    }

    void putInto(ObjectNode body) {
      if (buildpackVersion != null) {
        Integer level = level("--buildpack-version", buildpackVersion, "farm");
        if (level == null) {
          body.putNull("buildpackLevel");
        } else {
          body.put("buildpackLevel", level);
        }
      }
      if (!appBuildpackVersions.isEmpty()) {
        ObjectNode apps = body.putObject("appBuildpackLevels");
        for (String pair : appBuildpackVersions) {
          int eq = pair.indexOf('=');
          if (eq < 1) {
            throw new UserError(
                "--app-buildpack-version takes APP=N or APP=tenant, e.g. web=351; got '"
                    + pair
                    + "'",
                2);
          }
          Integer level = level("--app-buildpack-version", pair.substring(eq + 1), "tenant");
          if (level == null) {
            apps.putNull(pair.substring(0, eq));
          } else {
            apps.put(pair.substring(0, eq), level);
          }
        }
      }
      if (!sources.isEmpty()) {
        ArrayNode list = body.putArray("sources");
        sources.forEach(list::add);
      }
      if (concurrentBuilds != null || queuedBuilds != null) {
        ObjectNode quotas = body.putObject("quotas");
        if (concurrentBuilds != null) {
          quotas.put("concurrentBuilds", concurrentBuilds);
        }
        if (queuedBuilds != null) {
          quotas.put("queuedBuilds", queuedBuilds);
        }
      }
    }
  }

  @Command(
      name = "update",
      mixinStandardHelpOptions = true,
      description = {
        "Change an existing tenant's sources, quotas or buildpack level (PATCH"
            + " /v1/tenants/<name>).",
        "--source replaces the whole list: give every prefix the tenant keeps."
      })
  public static final class Update implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;

    @Parameters(paramLabel = "NAME", description = "The tenant to change.")
    String name;

    @Mixin Settings settings;

    @Override
    public Integer call() {
      if (settings.isEmpty()) {
        throw new UserError(
            "nothing to change: give --source PREFIX (repeatable), --concurrent-builds N,"
                + " --queued-builds N, --buildpack-version N|farm or --app-buildpack-version"
                + " APP=N|tenant",
            2);
      }
      ObjectNode body = EventCodec.mapper().createObjectNode();
      settings.putInto(body);
      JsonNode updated = connection.client().send("PATCH", path(name), body.toString());
      PrintWriter out = spec.commandLine().getOut();
      printTenant(out, updated);
      out.flush();
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the tenants.")
  public static final class ListTenants implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      JsonNode tenants = connection.client().get("/v1/tenants").path("tenants");
      if (tenants.isEmpty()) {
        out.println("No tenants yet; create one with `kiln tenants create NAME`.");
      }
      for (JsonNode t : tenants) {
        JsonNode q = t.path("quotas");
        out.printf(
            "%-24s %2d concurrent, %3d queued, %d tokens, %d indexes, sources %s%n",
            t.path("name").asText(),
            q.path("concurrentBuilds").asInt(),
            q.path("queuedBuilds").asInt(),
            t.path("tokens").size(),
            t.path("indexes").size(),
            join(t.path("effectiveSources")));
      }
      out.flush();
      return 0;
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one tenant.")
  public static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;

    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      printTenant(out, connection.client().get(path(name)));
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "token",
      mixinStandardHelpOptions = true,
      description =
          "Issue a new token for a tenant (for rotation; old tokens stay valid until revoked).")
  public static final class Token implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;

    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      JsonNode issued = connection.client().send("POST", path(name) + "/tokens", null);
      PrintWriter out = spec.commandLine().getOut();
      out.println(
          "New token " + issued.path("tokenId").asText() + " for " + name + " (shown only now):");
      out.println(issued.path("token").asText());
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "index",
      mixinStandardHelpOptions = true,
      description =
          "Set a tenant's private package index; the password is stored sealed and never shown.")
  public static final class Index implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;

    @Parameters(index = "0", paramLabel = "TENANT")
    String tenant;

    @Parameters(
        index = "1",
        paramLabel = "INDEX",
        description = "A name for the index, e.g. private.")
    String index;

    @Option(
        names = "--url",
        required = true,
        paramLabel = "URL",
        description = "The index's simple API URL, without credentials.")
    String url;

    @Option(names = "--username", paramLabel = "USER")
    String username;

    @Option(
        names = "--password-file",
        paramLabel = "FILE",
        description = "Read the password from this file (never pass it on the command line).")
    Path passwordFile;

    @Option(names = "--password-stdin", description = "Read the password from standard input.")
    boolean passwordStdin;

    @Override
    public Integer call() throws IOException {
      if (passwordFile != null && passwordStdin) {
        throw new UserError("give the password with --password-file or --password-stdin, not both");
      }
      ObjectNode body = EventCodec.mapper().createObjectNode().put("url", url);
      if (username != null) {
        body.put("username", username);
      }
      String password = null;
      if (passwordFile != null) {
        if (!Files.isRegularFile(passwordFile)) {
          throw new UserError("--password-file " + passwordFile + " is not a readable file");
        }
        password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
      } else if (passwordStdin) {
        password = new String(System.in.readAllBytes(), StandardCharsets.UTF_8).strip();
      }
      if (password != null) {
        if (password.isEmpty()) {
          throw new UserError(
              "the password is empty; leave out --password-file/--password-stdin for an index without one");
        }
        body.put("password", password);
      }
      JsonNode saved =
          connection
              .client()
              .send(
                  "PUT",
                  path(tenant) + "/indexes/" + URLEncoder.encode(index, StandardCharsets.UTF_8),
                  body.toString());
      PrintWriter out = spec.commandLine().getOut();
      out.printf(
          "Index %s of %s: %s%s%s%n",
          saved.path("name").asText(),
          tenant,
          saved.path("url").asText(),
          saved.hasNonNull("username") ? " user " + saved.path("username").asText() : "",
          saved.hasNonNull("password") ? " password " + saved.path("password").asText() : "");
      out.flush();
      return 0;
    }
  }
}
