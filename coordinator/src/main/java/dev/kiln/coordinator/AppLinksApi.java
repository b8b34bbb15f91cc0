package dev.kiln.coordinator;

import static dev.kiln.coordinator.HttpAnswers.error;
import static dev.kiln.coordinator.HttpAnswers.json;

import dev.kiln.events.AppLink;
import dev.kiln.events.AppLink.Forge;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.Quote;
import dev.kiln.events.Tenant;
import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.SecretValues;
import dev.kiln.events.security.Tokens;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code PUT|GET|DELETE /v1/tenants/{tenant}/apps/{app}/link}: link an app to a forge repository's
 * branch, show the link, unlink it. The operator or the tenant's own token may do all three. The
 * webhook secret is generated here, shown once (in the answer that created or rotated it), and kept
 * only sealed in the tenant's record in {@code kiln.tenants}.
 */
final class AppLinksApi {
  /** A push's app name rule (events' {@code Check.name}): it ends up in image names. */
  private static final java.util.regex.Pattern APP_NAME =
      java.util.regex.Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  private static final Set<String> FIELDS = Set.of("forge", "repoUrl", "branch", "rotateSecret");

  private final TenantsApi tenantsApi;
  private final TenantRegistry tenants;

  AppLinksApi(TenantsApi tenantsApi, TenantRegistry tenants) {
    this.tenantsApi = tenantsApi;
    this.tenants = tenants;
  }

  void routes(Router router, BodyHandler body) {
    String path = "/v1/tenants/:name/apps/:app/link";
    router.put(path).handler(body).handler(this::link);
    router.get(path).handler(this::show);
    router.delete(path).handler(this::unlink);
  }

  /** The tenant's links as the API shows them: no secrets. */
  static JsonArray linkList(Tenant tenant) {
    JsonArray list = new JsonArray();
    tenant.apps().forEach(link -> list.add(view(tenant.name(), link)));
    return list;
  }

  private static JsonObject view(String tenant, AppLink link) {
    return new JsonObject()
        .put("tenant", tenant)
        .put("app", link.app())
        .put("forge", link.forge().id())
        .put("repoUrl", link.repoUrl())
        .put("branch", link.branch())
        .put("webhookPath", WebhooksApi.path(link.forge(), tenant, link.app()))
        .put("secret", SecretValues.MASK)
        .put("createdAt", link.createdAt() == null ? null : link.createdAt().toString())
        .put("updatedAt", link.updatedAt() == null ? null : link.updatedAt().toString());
  }

  private void link(RoutingContext ctx) {
    Tenant current = tenantsApi.ownTenant(ctx);
    if (current == null) {
      return;
    }
    JsonObject body = TenantsApi.jsonBody(ctx);
    if (body == null) {
      return;
    }
    String app = ctx.pathParam("app");
    boolean existed = current.appLink(app).isPresent();
    String newSecret = Tokens.newToken(Tokens.Kind.WEBHOOK);
    boolean[] secretShown = new boolean[1];
    Future<Buffer> result =
        tenantsApi.modify(
            current.name(),
            t -> {
              for (String field : body.fieldNames()) {
                if (!FIELDS.contains(field)) {
                  throw new TenantsApi.Refused(
                      400,
                      "'"
                          + Quote.safe(field, 40)
                          + "' is not a link field; send forge, repoUrl, branch and optionally"
                          + " rotateSecret",
                      field);
                }
              }
              if (!APP_NAME.matcher(app).matches()) {
                throw new TenantsApi.Refused(
                    400,
                    "'"
                        + Quote.safe(app, 80)
                        + "' is not a valid app name; use 1-63 lowercase letters, digits and '-',"
                        + " starting and ending with a letter or digit",
                    "app");
              }
              AppLink before = t.appLink(app).orElse(null);
              Forge forge = forge(body, before);
              String repoUrl = orBefore(body, "repoUrl", before == null ? null : before.repoUrl());
              String branch = orBefore(body, "branch", before == null ? null : before.branch());
              try {
                AppLink.checkBranch("branch", branch);
              } catch (InvalidEventException e) {
                throw new TenantsApi.Refused(400, e.getMessage(), "branch");
              }
              var refusal = tenantsApi.sources().refusal(t, repoUrl);
              if (refusal.isPresent()) {
                throw new TenantsApi.Refused(
                    403, refusal.get().message(), "repoUrl", refusal.get().code());
              }
              if (body.containsKey("rotateSecret")
                  && !(body.getValue("rotateSecret") instanceof Boolean)) {
                throw new TenantsApi.Refused(
                    400, "rotateSecret must be true or false", "rotateSecret");
              }
              boolean rotate = Boolean.TRUE.equals(body.getValue("rotateSecret"));
              String sealed;
              if (before == null || rotate) {
                SecretBox secrets = tenantsApi.secrets();
                if (secrets == null) {
                  throw new TenantsApi.Refused(
                      503,
                      "this coordinator has no secret key, so it cannot keep webhook secrets; start"
                          + " it with KILN_SECRET_KEY (base64 of 32 random bytes)",
                      null);
                }
                sealed = secrets.seal(SecretBox.webhookSecretAad(t.name(), app), newSecret);
                secretShown[0] = true;
              } else {
                sealed = before.sealedSecret();
              }
              Instant now = tenantsApi.clock().instant();
              AppLink link =
                  new AppLink(
                      app,
                      forge,
                      repoUrl,
                      branch,
                      sealed,
                      before == null ? now : before.createdAt(),
                      now);
              List<AppLink> apps = new ArrayList<>();
              t.apps().stream().filter(a -> !a.app().equals(app)).forEach(apps::add);
              apps.add(link);
              return withApps(t, apps, now);
            },
            t -> {
              JsonObject answer = view(t.name(), t.appLink(app).orElseThrow());
              if (secretShown[0]) {
                answer
                    .put("secret", newSecret)
                    .put(
                        "note",
                        "the secret is shown only now; Kiln keeps it sealed. Set it as the"
                            + " webhook's secret (GitHub, Gitea, Forgejo) or secret token (GitLab)");
              }
              return answer.toBuffer();
            });
    TenantsApi.answer(ctx, existed ? 200 : 201, result);
  }

  private void show(RoutingContext ctx) {
    Tenant tenant = tenantsApi.ownTenant(ctx);
    if (tenant == null) {
      return;
    }
    String app = ctx.pathParam("app");
    tenant
        .appLink(app)
        .ifPresentOrElse(
            link -> json(ctx, 200, view(tenant.name(), link).toBuffer()),
            () -> error(ctx, 404, notLinked(tenant.name(), app), "app"));
  }

  private void unlink(RoutingContext ctx) {
    Tenant tenant = tenantsApi.ownTenant(ctx);
    if (tenant == null) {
      return;
    }
    String app = ctx.pathParam("app");
    TenantsApi.answer(
        ctx,
        200,
        tenantsApi.modify(
            tenant.name(),
            t -> {
              if (t.appLink(app).isEmpty()) {
                throw new TenantsApi.Refused(404, notLinked(t.name(), app), "app");
              }
              return withApps(
                  t,
                  t.apps().stream().filter(a -> !a.app().equals(app)).toList(),
                  tenantsApi.clock().instant());
            },
            t -> new JsonObject().put("tenant", t.name()).put("unlinked", app).toBuffer()));
  }

  private static String notLinked(String tenant, String app) {
    return "app "
        + Quote.safe(app, 63)
        + " of tenant "
        + tenant
        + " is not linked; link it with PUT /v1/tenants/"
        + tenant
        + "/apps/APP/link (`kiln apps link`)";
  }

  private static Forge forge(JsonObject body, AppLink before) {
    Object value = body.getValue("forge");
    if (value == null) {
      if (before != null) {
        return before.forge();
      }
      throw new TenantsApi.Refused(400, "forge is missing; send github, gitlab or gitea", "forge");
    }
    Forge forge = value instanceof String s ? Forge.of(s) : null;
    if (forge == null) {
      throw new TenantsApi.Refused(
          400,
          "forge '"
              + Quote.safe(String.valueOf(value), 40)
              + "' is not one Kiln takes webhooks from; use github, gitlab or gitea (also for"
              + " Forgejo)",
          "forge");
    }
    return forge;
  }

  private static String orBefore(JsonObject body, String field, String before) {
    if (!body.containsKey(field) && before != null) {
      return before;
    }
    return TenantsApi.text(body, field, true);
  }

  private static Tenant withApps(Tenant t, List<AppLink> apps, Instant now) {
    return new Tenant(
        t.name(),
        t.tokens(),
        t.sources(),
        t.indexes(),
        t.quotas(),
        t.createdAt(),
        now,
        apps,
        t.buildpackLevel(),
        t.appBuildpackLevels());
  }
}
