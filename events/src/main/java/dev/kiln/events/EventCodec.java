package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.cloudevents.CloudEvent;
import io.cloudevents.SpecVersion;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.format.EventFormat;
import io.cloudevents.jackson.JsonFormat;
import io.cloudevents.kafka.KafkaMessageFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;

/**
 * Turns event bodies into CloudEvents 1.0 Kafka records (binary mode: {@code ce_*} headers and a
 * JSON body) and back, validating everything on the way in.
 */
public final class EventCodec {
  public static final String JSON = "application/json";

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .serializationInclusion(JsonInclude.Include.NON_NULL)
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .build();

  private static final EventFormat STRUCTURED_JSON = new JsonFormat();

  private final URI source;

  /**
   * @param source the CloudEvents {@code source} of everything this codec encodes, e.g.
   *     /kiln/coordinator
   */
  public EventCodec(String source) {
    this.source = URI.create(source);
  }

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  /** A CloudEvent with a random id. */
  public CloudEvent toCloudEvent(EventBody body, String subject) {
    return toCloudEvent(body, subject, UUID.randomUUID().toString());
  }

  /**
   * A CloudEvent with a caller-chosen id: outcome events use an id derived from the build, so a
   * consumer can drop a redelivered copy.
   */
  public CloudEvent toCloudEvent(EventBody body, String subject, String id) {
    return CloudEventBuilder.v1()
        .withId(id)
        .withSource(source)
        .withType(EventType.of(body).ceType())
        .withSubject(subject)
        .withTime(OffsetDateTime.now(ZoneOffset.UTC))
        .withDataContentType(JSON)
        .withData(toJson(body))
        .build();
  }

  /** A Kafka record in CloudEvents binary mode. */
  public ProducerRecord<String, byte[]> toRecord(String topic, String key, CloudEvent event) {
    return KafkaMessageFactory.<String>createWriter(topic, null, null, key).writeBinary(event);
  }

  public ProducerRecord<String, byte[]> toRecord(String topic, String key, EventBody body) {
    return toRecord(topic, key, toCloudEvent(body, key));
  }

  /** The event in CloudEvents structured JSON form, for people and for HTTP consumers. */
  public static String toStructuredJson(CloudEvent event) {
    return new String(STRUCTURED_JSON.serialize(event), StandardCharsets.UTF_8);
  }

  /** Reads a structured-mode JSON CloudEvent (the form {@link #toStructuredJson} prints). */
  public static CloudEvent fromStructuredJson(String json) throws InvalidEventException {
    try {
      return STRUCTURED_JSON.deserialize(json.getBytes(StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      throw new InvalidEventException(
          "event", "is not a CloudEvents JSON document: " + e.getMessage(), e);
    }
  }

  /** Reads and validates a Kiln event from a Kafka record's headers and value. */
  public static Decoded decode(Headers headers, byte[] value) throws InvalidEventException {
    CloudEvent event;
    try {
      event = KafkaMessageFactory.createReader(headers, value).toEvent();
    } catch (RuntimeException e) {
      throw new InvalidEventException(
          "ce_specversion",
          "the record is not a CloudEvent in Kafka binary mode ("
              + e.getMessage()
              + "); send ce_specversion=1.0, ce_id, ce_source, ce_type headers and a JSON body",
          e);
    }
    return decode(event);
  }

  /** Validates an already-parsed CloudEvent and reads its body. */
  public static Decoded decode(CloudEvent event) throws InvalidEventException {
    if (event.getSpecVersion() != SpecVersion.V1) {
      throw new InvalidEventException(
          "ce_specversion", "must be 1.0, got " + event.getSpecVersion());
    }
    EventType type =
        EventType.fromCeType(event.getType())
            .orElseThrow(
                () ->
                    new InvalidEventException(
                        "ce_type",
                        "'"
                            + Quote.safe(event.getType(), 80)
                            + "' is not a Kiln event type; expected"
                            + " one of "
                            + java.util.Arrays.stream(EventType.values())
                                .map(EventType::ceType)
                                .toList()));
    String contentType = event.getDataContentType();
    if (contentType != null && !contentType.startsWith(JSON)) {
      throw new InvalidEventException(
          "content-type",
          "is '" + Quote.safe(contentType, 80) + "'; Kiln events carry application/json");
    }
    if (event.getData() == null) {
      throw new InvalidEventException("data", "is missing; the event needs a JSON body");
    }
    EventBody body = fromJson(event.getData().toBytes(), type.bodyType());
    return new Decoded(event, type, body);
  }

  /** Parses and validates a JSON body (also used for HTTP requests). */
  public static <T extends EventBody> T fromJson(byte[] json, Class<T> type)
      throws InvalidEventException {
    T body;
    try {
      body = MAPPER.readValue(json, type);
    } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
      String path =
          e.getPath().stream()
              .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
              .reduce((a, b) -> a + "." + b)
              .orElse("body");
      throw new InvalidEventException(path, "cannot be read: " + e.getOriginalMessage(), e);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      // getMessage() would append Jackson's "[Source: REDACTED …]" noise; say where instead.
      var at = e.getLocation();
      String where =
          at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
      throw new InvalidEventException(
          "body", "is not valid JSON: " + e.getOriginalMessage() + where, e);
    } catch (IOException e) {
      throw new InvalidEventException("body", "is not valid JSON: " + e.getMessage(), e);
    }
    if (body == null) {
      throw new InvalidEventException("body", "is empty; send a JSON object");
    }
    body.validate();
    return body;
  }

  public static byte[] toJson(Object body) {
    try {
      return MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "cannot write " + body.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /** A validated event: the CloudEvent envelope, its Kiln type and its body. */
  public record Decoded(CloudEvent cloudEvent, EventType type, EventBody body) {
    public <T extends EventBody> T body(Class<T> expected) throws InvalidEventException {
      if (!expected.isInstance(body)) {
        throw new InvalidEventException(
            "ce_type",
            "is "
                + type.ceType()
                + " but this topic carries "
                + expected.getSimpleName()
                + " events");
      }
      return expected.cast(body);
    }
  }
}
