package dev.kiln.cache;

import java.net.URI;
import java.net.URISyntaxException;

/** Masks credentials in URLs before they reach a message, a log line or an answer. Pure logic. */
final class UrlRedaction {
  private UrlRedaction() {}

  /** {@code https://user:secret@host/x} → {@code https://****@host/x}; other URLs unchanged. */
  static String mask(String url) {
    if (url == null) {
      return null;
    }
    try {
      return mask(new URI(url));
    } catch (URISyntaxException e) {
      // Not parseable: cut anything that could be userinfo rather than risk echoing it.
      int at = url.lastIndexOf('@');
      int scheme = url.indexOf("://");
      return at > scheme && scheme >= 0
          ? url.substring(0, scheme + 3) + "****@" + url.substring(at + 1)
          : url;
    }
  }

  static String mask(URI url) {
    if (url == null) {
      return null;
    }
    if (url.getRawUserInfo() == null) {
      return url.toString();
    }
    try {
      return new URI(
              url.getScheme(),
              "****",
              url.getHost(),
              url.getPort(),
              url.getRawPath() == null ? null : url.getPath(),
              url.getQuery(),
              url.getFragment())
          .toString();
    } catch (URISyntaxException e) {
      return url.getScheme() + "://****@" + url.getHost() + "/…";
    }
  }

  /** The URL without userinfo, for connecting. */
  static URI withoutUserInfo(URI url) {
    if (url.getRawUserInfo() == null) {
      return url;
    }
    try {
      return new URI(
          url.getScheme(), null, url.getHost(), url.getPort(), url.getPath(), url.getQuery(), null);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("cannot strip credentials from " + mask(url), e);
    }
  }
}
