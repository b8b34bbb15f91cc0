package dev.kiln.events;

import java.util.Arrays;
import java.util.Optional;

/**
 * The CloudEvents {@code type} of every Kiln event and the body it carries. The version suffix
 * changes only for incompatible body changes; new optional fields keep the version.
 */
public enum EventType {
  PUSH("dev.kiln.push.v1", PushEvent.class),
  BUILD_TASK("dev.kiln.build-task.v1", BuildTask.class),
  TASK_RESULT("dev.kiln.task-result.v1", TaskResult.class),
  TASK_HEARTBEAT("dev.kiln.task-heartbeat.v1", TaskHeartbeat.class),
  IMAGE_READY("dev.kiln.image-ready.v1", ImageReady.class),
  BUILD_FAILED("dev.kiln.build-failed.v1", BuildFailed.class),
  BUILD_CANCELLED("dev.kiln.build-cancelled.v1", BuildCancelled.class),
  DEPLOY_FAILED("dev.kiln.deploy-failed.v1", DeployFailed.class),
  BUILD_LOG("dev.kiln.build-log.v1", BuildLogLine.class),
  BUILD_SNAPSHOT("dev.kiln.build-snapshot.v1", BuildSnapshot.class),
  TENANT("dev.kiln.tenant.v1", Tenant.class);

  private final String ceType;
  private final Class<? extends EventBody> bodyType;

  EventType(String ceType, Class<? extends EventBody> bodyType) {
    this.ceType = ceType;
    this.bodyType = bodyType;
  }

  public String ceType() {
    return ceType;
  }

  public Class<? extends EventBody> bodyType() {
    return bodyType;
  }

  public static Optional<EventType> fromCeType(String ceType) {
    return Arrays.stream(values()).filter(t -> t.ceType.equals(ceType)).findFirst();
  }

  public static EventType of(EventBody body) {
    return Arrays.stream(values())
        .filter(t -> t.bodyType.isInstance(body))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("not an event body: " + body.getClass()));
  }
}
