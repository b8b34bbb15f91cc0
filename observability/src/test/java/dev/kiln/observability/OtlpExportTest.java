package dev.kiln.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Spans reach an OTLP/HTTP collector as protobuf, as a real collector on port 4318 would get. */
class OtlpExportTest {
  private record Received(String path, String contentType, byte[] body) {}

  private final List<Received> received = new CopyOnWriteArrayList<>();
  private HttpServer collector;

  @BeforeEach
  void startCollector() throws Exception {
    collector = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    collector.createContext(
        "/",
        exchange -> {
          byte[] body = exchange.getRequestBody().readAllBytes();
          received.add(
              new Received(
                  exchange.getRequestURI().getPath(),
                  exchange.getRequestHeaders().getFirst("Content-Type"),
                  body));
          exchange.sendResponseHeaders(200, -1);
          exchange.close();
        });
    collector.start();
  }

  @AfterEach
  void stopCollector() {
    collector.stop(0);
  }

  @Test
  void anEndedSpanIsPostedToTheCollectorAsProtobuf() throws Exception {
    String url = "http://127.0.0.1:" + collector.getAddress().getPort() + "/v1/traces";
    try (Tracing tracing = Tracing.exportingTo("kiln-coordinator", url)) {
      Span span = tracing.start("push acme/web", Context.root(), SpanKind.PRODUCER);
      span.end();
      tracing.flush().get(10, TimeUnit.SECONDS);

      byte[] traceId = HexFormat.of().parseHex(span.getSpanContext().getTraceId());
      assertThat(received).isNotEmpty();
      Received request = received.get(0);
      assertThat(request.path()).isEqualTo("/v1/traces");
      assertThat(request.contentType()).isEqualTo("application/x-protobuf");
      assertThat(indexOf(request.body(), traceId)).isNotNegative();
      assertThat(indexOf(request.body(), "kiln-coordinator".getBytes())).isNotNegative();
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
