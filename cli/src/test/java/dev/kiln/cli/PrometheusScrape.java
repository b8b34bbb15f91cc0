package dev.kiln.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One scrape of a {@code /metrics} page in the Prometheus text format, parsed into series. */
record PrometheusScrape(int status, String body, List<Series> series) {
  record Series(String name, Map<String, String> labels, double value) {}

  private static final Pattern LINE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})?\\s+(\\S+)$");
  private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  static PrometheusScrape of(String url, String bearerToken) {
    try {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET();
      if (bearerToken != null) {
        request.header("Authorization", "Bearer " + bearerToken);
      }
      HttpResponse<String> response =
          HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new PrometheusScrape(
          response.statusCode(),
          response.body(),
          response.statusCode() == 200 ? parse(response.body()) : List.of());
    } catch (Exception e) {
      throw new AssertionError("could not scrape " + url, e);
    }
  }

  static List<Series> parse(String text) {
    List<Series> series = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher m = LINE.matcher(line.strip());
      if (!m.matches()) {
        throw new AssertionError("not a Prometheus sample line: " + line);
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(2) != null) {
        Matcher label = LABEL.matcher(m.group(2));
        while (label.find()) {
          labels.put(label.group(1), label.group(2));
        }
      }
      series.add(new Series(m.group(1), labels, Double.parseDouble(m.group(3))));
    }
    return series;
  }

  /** The sum of every series named {@code name} whose labels include {@code labels}. */
  double sum(String name, Map<String, String> labels) {
    return series.stream()
        .filter(s -> s.name().equals(name))
        .filter(s -> s.labels().entrySet().containsAll(labels.entrySet()))
        .mapToDouble(Series::value)
        .sum();
  }

  double sum(String name) {
    return sum(name, Map.of());
  }

  boolean has(String name, Map<String, String> labels) {
    return series.stream()
        .anyMatch(
            s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()));
  }
}
