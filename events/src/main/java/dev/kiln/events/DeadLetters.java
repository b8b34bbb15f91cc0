package dev.kiln.events;

/** Header names on {@code kiln.dlq} records: why and where a record was rejected. */
public final class DeadLetters {
  public static final String REASON = "kiln_dlq_reason";
  public static final String FIELD = "kiln_dlq_field";
  public static final String SOURCE_TOPIC = "kiln_dlq_topic";
  public static final String SOURCE_PARTITION = "kiln_dlq_partition";
  public static final String SOURCE_OFFSET = "kiln_dlq_offset";
  public static final String CONSUMER = "kiln_dlq_consumer";

  private DeadLetters() {}
}
