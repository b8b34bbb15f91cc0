package dev.kiln.coordinator;

import static dev.kiln.coordinator.HttpAnswers.error;
import static dev.kiln.coordinator.HttpAnswers.json;

import dev.kiln.events.AppLink;
import dev.kiln.events.AppLink.Forge;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Quote;
import dev.kiln.events.Tenant;
import dev.kiln.events.security.SecretBox;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/webhooks/{forge}/{tenant}/{app}}: a forge's push webhook for a linked app. No
 * bearer token: the delivery is authenticated by the link's secret ({@link ForgeWebhooks}), and an
 * authentic push of the linked branch goes into {@code kiln.push} exactly as {@code POST
 * /v1/pushes} would send it ({@link CoordinatorApi#admitPush}), sources and quotas included.
 *
 * <p>Every refusal is logged (forge, tenant, app, delivery id and why; never a secret or
 * signature). An unknown tenant, an unlinked app and an app linked to another forge all answer the
 * same 404, so the endpoint tells nobody which tenants exist.
 */
final class WebhooksApi {
  private static final Logger LOG = LoggerFactory.getLogger(WebhooksApi.class);

  static final String PATH_PREFIX = "/v1/webhooks/";

  /**
   * GitHub caps its payloads at 25 MB, but a push of a branch is a few kB even with 20 commits
   * listed; 1 MiB leaves room for large pushes and bounds what an unauthenticated caller can make
   * the coordinator hash.
   */
  static final long MAX_BODY_BYTES = 1024 * 1024;

  /** How many delivery ids the fast duplicate check keeps (a few MB at most). */
  static final int REMEMBERED_DELIVERIES = 10_000;

  private final CoordinatorApi api;
  private final TenantRegistry tenants;
  private final TenantsApi tenantsApi;
  private final RecentDeliveries deliveries = new RecentDeliveries(REMEMBERED_DELIVERIES);

  WebhooksApi(CoordinatorApi api, TenantRegistry tenants, TenantsApi tenantsApi) {
    this.api = api;
    this.tenants = tenants;
    this.tenantsApi = tenantsApi;
  }

  void routes(Router router, Handler<RoutingContext> requireRestored) {
    String path = PATH_PREFIX + ":forge/:tenant/:app";
    // Vert.x wants the body handler on a route of its own, ahead of the others.
    router.post(path).handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES));
    router.post(path).handler(requireRestored).handler(this::receive);
  }

  /** The URL path a forge posts an app's webhooks to. */
  static String path(Forge forge, String tenant, String app) {
    return PATH_PREFIX + forge.id() + "/" + tenant + "/" + app;
  }

  static void tooLarge(RoutingContext ctx) {
    LOG.warn(
        "webhook refused: {} carries more than {} bytes (413)",
        Quote.safe(ctx.request().path(), 200),
        MAX_BODY_BYTES);
    error(
        ctx,
        413,
        "the webhook body is larger than "
            + MAX_BODY_BYTES
            + " bytes; a push payload is a few kB. Nothing was built",
        "body",
        "webhook::too-large");
  }

  private void receive(RoutingContext ctx) {
    String forgeName = ctx.pathParam("forge");
    String tenantName = ctx.pathParam("tenant");
    String app = ctx.pathParam("app");
    Forge forge = Forge.of(forgeName);
    Optional<Tenant> tenant = tenants.get(tenantName);
    Optional<AppLink> link =
        tenant.flatMap(t -> t.appLink(app)).filter(l -> forge != null && l.forge() == forge);
    String where = Quote.safe(forgeName, 20) + " " + Quote.safe(tenantName + "/" + app, 130);
    if (link.isEmpty()) {
      LOG.warn("webhook refused: {} is not a linked app (404)", where);
      error(
          ctx,
          404,
          "no app is linked at "
              + Quote.safe(ctx.request().path(), 200)
              + "; link one with `kiln apps link TENANT APP --forge FORGE --repo URL --branch"
              + " BRANCH` and use the webhook URL it prints",
          null);
      return;
    }
    SecretBox secrets = tenantsApi.secrets();
    String secret;
    try {
      if (secrets == null) {
        throw new IllegalStateException("this coordinator has no secret key (KILN_SECRET_KEY)");
      }
      secret = secrets.open(SecretBox.webhookSecretAad(tenantName, app), link.get().sealedSecret());
    } catch (RuntimeException e) {
      // Not the forge's fault: the farm's secret key is missing or was changed.
      LOG.error(
          "webhook for {} cannot be checked: the link's secret does not open ({})",
          where,
          e.getMessage());
      error(
          ctx,
          503,
          "the coordinator cannot check this app's webhook secret right now; nothing was built."
              + " The operator must start it with the farm's secret key (KILN_SECRET_KEY)",
          null);
      return;
    }
    Buffer raw = ctx.body().buffer();
    byte[] body = raw == null ? new byte[0] : raw.getBytes();
    ForgeWebhooks.Verdict verdict =
        ForgeWebhooks.judge(forge, ctx.request()::getHeader, body, link.get(), secret);
    String delivery = ForgeWebhooks.deliveryId(forge, ctx.request()::getHeader);
    String deliveryForLog = delivery == null ? "-" : Quote.safe(delivery, 128);
    if (verdict instanceof ForgeWebhooks.Refused refused) {
      LOG.warn(
          "webhook refused: {} delivery {}: {} ({} {})",
          where,
          deliveryForLog,
          refused.message(),
          refused.status(),
          refused.code());
      error(ctx, refused.status(), refused.message(), refused.field(), refused.code());
    } else if (verdict instanceof ForgeWebhooks.Ignored ignored) {
      LOG.info(
          "webhook ignored: {} delivery {} ({}): {}",
          where,
          deliveryForLog,
          Quote.safe(ignored.event(), 60),
          ignored.reason());
      json(
          ctx,
          200,
          new JsonObject()
              .put("status", "ignored")
              .put("event", ignored.event())
              .put("reason", ignored.reason())
              .toBuffer());
    } else if (verdict instanceof ForgeWebhooks.Push push) {
      build(ctx, tenant.get(), link.get(), push, where);
    }
  }

  private void build(
      RoutingContext ctx, Tenant tenant, AppLink link, ForgeWebhooks.Push push, String where) {
    String deliveryKey =
        push.deliveryId() == null
            ? null
            : RecentDeliveries.key(link.forge().id(), tenant.name(), link.app(), push.deliveryId());
    PushEvent event =
        new PushEvent(
            tenant.name(),
            link.app(),
            link.repoUrl(),
            push.ref(),
            push.commit(),
            null,
            null,
            tenantsApi.clock().instant());
    try {
      event.validate();
    } catch (InvalidEventException e) {
      LOG.warn("webhook refused: {}: {} (400)", where, e.getMessage());
      error(ctx, 400, e.getMessage(), e.field(), ForgeWebhooks.MALFORMED);
      return;
    }
    if (deliveryKey != null) {
      Optional<String> earlier = deliveries.claim(deliveryKey);
      if (earlier.isPresent()) {
        LOG.info(
            "webhook duplicate: {} delivery {} was taken before; nothing new is built",
            where,
            push.deliveryId());
        JsonObject answer =
            new JsonObject().put("status", "duplicate").put("delivery", push.deliveryId());
        answer.put(
            "buildId",
            earlier.get().equals(RecentDeliveries.PENDING) ? event.buildId() : earlier.get());
        json(ctx, 200, answer.toBuffer());
        return;
      }
    }
    api.admitPush(event, tenant)
        .onSuccess(
            answer -> {
              if (deliveryKey != null) {
                if (answer.accepted()) {
                  deliveries.settle(deliveryKey, event.buildId());
                } else {
                  deliveries.forget(deliveryKey);
                }
              }
              if (answer.accepted()) {
                LOG.info(
                    "webhook push: {} delivery {}: {} pushed {} to {} -> build {} ({})",
                    where,
                    push.deliveryId() == null ? "-" : push.deliveryId(),
                    push.pusher(),
                    push.commit(),
                    link.branch(),
                    event.buildId(),
                    answer.body().getString("status"));
              } else {
                LOG.warn(
                    "webhook refused: {} delivery {}: {} ({})",
                    where,
                    push.deliveryId() == null ? "-" : push.deliveryId(),
                    answer.body().getString("error"),
                    answer.status());
              }
              if (push.deliveryId() != null) {
                answer.body().put("delivery", push.deliveryId());
              }
              answer.send(ctx);
            });
  }
}
