package dev.kiln.coordinator;

import dev.kiln.events.BuildCancelled;
import dev.kiln.events.BuildFailed;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildTask;
import dev.kiln.events.ImageReady;
import dev.kiln.events.TaskKind;
import java.util.List;
import java.util.Optional;

/**
 * What the state machine decided for one input: the build's snapshot once every action is done
 * (absent when the input is ignored) and the actions, in the order they must be carried out.
 */
record Decision(BuildSnapshot next, List<Action> actions) {

  Decision {
    actions = List.copyOf(actions);
  }

  static Decision ignore(String reason) {
    return new Decision(null, List.of(new Action.Ignore(reason)));
  }

  Optional<BuildSnapshot> snapshot() {
    return Optional.ofNullable(next);
  }

  Optional<String> ignoredBecause() {
    return actions.stream()
        .filter(Action.Ignore.class::isInstance)
        .map(a -> ((Action.Ignore) a).reason())
        .findFirst();
  }

  List<BuildSnapshot> snapshotWrites() {
    return actions.stream()
        .filter(Action.WriteSnapshot.class::isInstance)
        .map(a -> ((Action.WriteSnapshot) a).snapshot())
        .toList();
  }

  List<BuildTask> tasks() {
    return actions.stream()
        .filter(Action.PublishTask.class::isInstance)
        .map(a -> ((Action.PublishTask) a).task())
        .toList();
  }

  /** The INSTALL task this decision would send, which an action-cache hit can make unnecessary. */
  Optional<BuildTask> installTask() {
    return tasks().stream().filter(t -> t.kind() == TaskKind.INSTALL).findFirst();
  }

  Optional<ImageReady> imageReady() {
    return actions.stream()
        .filter(Action.PublishImageReady.class::isInstance)
        .map(a -> ((Action.PublishImageReady) a).event())
        .findFirst();
  }

  Optional<BuildFailed> buildFailed() {
    return actions.stream()
        .filter(Action.PublishBuildFailed.class::isInstance)
        .map(a -> ((Action.PublishBuildFailed) a).event())
        .findFirst();
  }

  Optional<BuildCancelled> buildCancelled() {
    return actions.stream()
        .filter(Action.PublishBuildCancelled.class::isInstance)
        .map(a -> ((Action.PublishBuildCancelled) a).event())
        .findFirst();
  }

  List<Action.Log> logs() {
    return actions.stream()
        .filter(Action.Log.class::isInstance)
        .map(Action.Log.class::cast)
        .toList();
  }
}
