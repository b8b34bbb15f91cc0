package dev.kiln.coordinator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The webhook deliveries this coordinator took lately, by forge, tenant, app and delivery id, so a
 * delivery the forge sends again is answered as a duplicate at once. Bounded: the oldest are
 * forgotten first. This is the fast path only; what makes a redelivery build nothing is that its
 * commit maps to a build id the coordinator already knows (see {@code docs/ingest.md}). Used from
 * the verticle's event loop only.
 */
final class RecentDeliveries {
  /** The build id of a delivery whose push is not yet acknowledged by Kafka. */
  static final String PENDING = "";

  private final Map<String, String> buildIdByDelivery;

  RecentDeliveries(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be 1 or more, got " + capacity);
    }
    this.buildIdByDelivery =
        new LinkedHashMap<>(16, 0.75f, false) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > capacity;
          }
        };
  }

  static String key(String forge, String tenant, String app, String deliveryId) {
    return forge + "/" + tenant + "/" + app + "/" + deliveryId;
  }

  /**
   * Takes a delivery: empty when it is new (it is now remembered as pending), else the build id it
   * led to ({@link #PENDING} while its push is on its way to Kafka).
   */
  Optional<String> claim(String key) {
    String earlier = buildIdByDelivery.putIfAbsent(key, PENDING);
    return Optional.ofNullable(earlier);
  }

  /** The delivery's push was accepted (or was a known build): remember which build it is. */
  void settle(String key, String buildId) {
    buildIdByDelivery.put(key, buildId);
  }

  /** The delivery was not taken after all (Kafka refused it): the forge may send it again. */
  void forget(String key) {
    buildIdByDelivery.remove(key);
  }

  int size() {
    return buildIdByDelivery.size();
  }
}
