package dev.kiln.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.TaskKind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaskSlotsTest {

  @Test
  void aKindAtItsBoundQueuesItsTasksInArrivalOrderWhileOtherKindsRun() {
    TaskSlots slots = new TaskSlots(1, 1, 4);
    List<String> started = new ArrayList<>();

    slots.acquire(TaskKind.INSTALL, () -> started.add("install-1"));
    slots.acquire(TaskKind.INSTALL, () -> started.add("install-2"));
    slots.acquire(TaskKind.INSTALL, () -> started.add("install-3"));
    slots.acquire(TaskKind.DETECT, () -> started.add("detect-1"));
    slots.acquire(TaskKind.ASSEMBLE, () -> started.add("assemble-1"));

    assertThat(started).containsExactly("install-1", "detect-1", "assemble-1");
    assertThat(slots.waiting(TaskKind.INSTALL)).isEqualTo(2);

    slots.release(TaskKind.INSTALL);
    assertThat(started).endsWith("install-2");
    assertThat(slots.running(TaskKind.INSTALL)).isEqualTo(1);
    slots.release(TaskKind.INSTALL);
    slots.release(TaskKind.INSTALL);

    assertThat(started).endsWith("install-3");
    assertThat(slots.running(TaskKind.INSTALL)).isZero();
    assertThat(slots.waiting(TaskKind.INSTALL)).isZero();
  }

  @Test
  void aWorkerOfFourTasksRunsAtMostTwoInstallsAndTwoAssemblesButFourDetects() {
    TaskSlots slots = TaskSlots.forConcurrency(4);

    assertThat(slots.limit(TaskKind.INSTALL)).isEqualTo(2);
    assertThat(slots.limit(TaskKind.ASSEMBLE)).isEqualTo(2);
    assertThat(slots.limit(TaskKind.DETECT)).isEqualTo(4);
    assertThat(TaskSlots.forConcurrency(1).limit(TaskKind.INSTALL)).isEqualTo(1);
  }

  @Test
  void releasingASlotNobodyHeldIsABugNotAFreeSlot() {
    TaskSlots slots = new TaskSlots(1, 1, 1);

    assertThatThrownBy(() -> slots.release(TaskKind.ASSEMBLE))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ASSEMBLE");
    slots.acquire(TaskKind.ASSEMBLE, () -> {});
    assertThat(slots.running(TaskKind.ASSEMBLE)).isEqualTo(1);
  }

  @Test
  void boundsBelowOneAreRejected() {
    assertThatThrownBy(() -> new TaskSlots(0, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("installs is 0");
  }
}
