package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.EventCodec;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kiln apps link|show|unlink}: link an app to a forge repository's branch so that the
 * forge's push webhooks build it (see docs/ingest.md), over the admin API.
 */
@Command(
    name = "apps",
    mixinStandardHelpOptions = true,
    description = {
      "Link apps to a forge repository and branch: a signed push webhook of that branch builds the"
          + " pushed commit (the operator token, or the tenant's own).",
      "The webhook secret is shown once, when the link is made or its secret rotated; Kiln keeps"
          + " it sealed."
    },
    subcommands = {AppsCommand.Link.class, AppsCommand.Show.class, AppsCommand.Unlink.class})
public final class AppsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The tenant and app a subcommand acts on. */
  public static final class Target {
    @Parameters(index = "0", paramLabel = "TENANT", description = "The app's tenant.")
    String tenant;

    @Parameters(index = "1", paramLabel = "APP", description = "The app.")
    String app;

    String path() {
      return TenantsCommand.path(tenant)
          + "/apps/"
          + URLEncoder.encode(app, StandardCharsets.UTF_8)
          + "/link";
    }
  }

  /** Where forges reach the coordinator, which may differ from where this command reaches it. */
  public static final class PublicUrl {
    @Option(
        names = "--public-url",
        paramLabel = "URL",
        defaultValue = "${env:KILN_PUBLIC_URL}",
        description =
            "The coordinator's URL as the forge reaches it (e.g. https://kiln.example.com), for"
                + " the webhook URL printed. Env: KILN_PUBLIC_URL. Default: the coordinator URL.")
    String publicUrl;

    String base(CoordinatorConnection connection) {
      String base =
          publicUrl != null && !publicUrl.isBlank() ? publicUrl : connection.coordinatorUrl();
      return base.replaceAll("/+$", "");
    }
  }

  static void printLink(PrintWriter out, JsonNode link, String baseUrl) {
    out.println("App " + link.path("tenant").asText() + "/" + link.path("app").asText());
    out.println("  Forge:        " + link.path("forge").asText());
    out.println("  Repository:   " + link.path("repoUrl").asText());
    out.println("  Branch:       " + link.path("branch").asText());
    out.println("  Webhook URL:  " + baseUrl + link.path("webhookPath").asText());
    out.println("  Content type: application/json");
    out.println("  Events:       push");
  }

  @Command(
      name = "link",
      mixinStandardHelpOptions = true,
      description = {
        "Link an app to a repository and branch (PUT /v1/tenants/<tenant>/apps/<app>/link) and"
            + " print the webhook URL and, for a new link or --rotate-secret, its secret (shown"
            + " only now).",
        "On an existing link, options left out keep their values."
      })
  public static final class Link implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;
    @Mixin Target target;
    @Mixin PublicUrl publicUrl;

    @Option(
        names = "--forge",
        paramLabel = "FORGE",
        description = "github, gitlab or gitea (also for Forgejo).")
    String forge;

    @Option(
        names = "--repo",
        paramLabel = "URL",
        description =
            "The repository builds fetch from; it must start with one of the tenant's sources.")
    String repo;

    @Option(
        names = "--branch",
        paramLabel = "BRANCH",
        description = "The branch whose pushes build, e.g. main.")
    String branch;

    @Option(
        names = "--rotate-secret",
        description = "Generate a new webhook secret; the old one stops working at once.")
    boolean rotateSecret;

    @Override
    public Integer call() {
      ObjectNode body = EventCodec.mapper().createObjectNode();
      if (forge != null) {
        body.put("forge", forge);
      }
      if (repo != null) {
        body.put("repoUrl", repo);
      }
      if (branch != null) {
        body.put("branch", branch);
      }
      if (rotateSecret) {
        body.put("rotateSecret", true);
      }
      JsonNode link = connection.client().send("PUT", target.path(), body.toString());
      PrintWriter out = spec.commandLine().getOut();
      printLink(out, link, publicUrl.base(connection));
      String secret = link.path("secret").asText();
      if (!secret.isEmpty() && !secret.equals("****")) {
        out.println();
        out.println(
            "Webhook secret (shown only now; set it as the webhook's "
                + ("gitlab".equals(link.path("forge").asText()) ? "secret token" : "secret")
                + "):");
        out.println(secret);
      } else {
        out.println("  Secret:       unchanged (use --rotate-secret for a new one)");
      }
      out.flush();
      return 0;
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "Show an app's link.")
  public static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;
    @Mixin Target target;
    @Mixin PublicUrl publicUrl;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      JsonNode link = connection.client().get(target.path());
      printLink(out, link, publicUrl.base(connection));
      out.println("  Secret:       " + link.path("secret").asText());
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "unlink",
      mixinStandardHelpOptions = true,
      description = "Unlink an app: its webhook answers 404 from now on and builds nothing.")
  public static final class Unlink implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CoordinatorConnection connection;
    @Mixin Target target;

    @Override
    public Integer call() {
      connection.client().send("DELETE", target.path(), null);
      PrintWriter out = spec.commandLine().getOut();
      out.println(
          "Unlinked "
              + target.tenant
              + "/"
              + target.app
              + "; remove the webhook from the forge too.");
      out.flush();
      return 0;
    }
  }
}
