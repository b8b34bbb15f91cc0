package dev.kiln.cache;

import dev.kiln.events.Quote;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.ErrorHandler;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;

/**
 * An NLTK data index ({@code index.xml}, the format of the {@code gh-pages} branch of
 * github.com/nltk/nltk_data): read safely, its packages looked up by id, and written out again with
 * every package {@code url} pointing at this service ({@code /nltk/packages/{subdir}/{id}.zip}).
 *
 * <p>Pure logic over bytes already in memory. The parser refuses any DOCTYPE (so no entities, no
 * external DTDs, nothing an upstream can use to make the service read a local file or a URL) and
 * does not process XInclude; the caller bounds the input to {@link #MAX_BYTES}.
 *
 * <p>A package the service could not verify or address (no MD5 {@code checksum}, no {@code size},
 * an id or subdir that is not a plain name, a URL that is not http(s) or, for a {@code file://}
 * index, file) is left out of the rewritten index, as {@code /simple/} leaves out links without a
 * SHA-256; {@link #whyLeftOut} says why.
 */
final class NltkIndex {
  /** The largest index accepted; the public one is well under 1 MiB. */
  static final int MAX_BYTES = 8 * 1024 * 1024;

  static final String PACKAGES_PATH = "/nltk/packages/";

  private static final Pattern PLAIN_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final Pattern MD5 = Pattern.compile("[0-9a-fA-F]{32}");

  /**
   * One package as the upstream index lists it.
   *
   * @param url where upstream serves the zip, resolved against the index URL
   * @param md5 the zip's MD5 ({@code checksum}), lowercase hex
   * @param size the zip's length in bytes
   */
  record NltkPackage(String id, String subdir, URI url, String md5, long size) {
    /** Where this service serves it: {@code /nltk/packages/{subdir}/{id}.zip}. */
    String path() {
      return servicePath(subdir, id);
    }
  }

  private final Map<String, NltkPackage> packages;
  private final Map<String, String> leftOut;
  private final int collections;
  private final String rewritten;

  private NltkIndex(
      Map<String, NltkPackage> packages,
      Map<String, String> leftOut,
      int collections,
      String rewritten) {
    this.packages = packages;
    this.leftOut = leftOut;
    this.collections = collections;
    this.rewritten = rewritten;
  }

  /** Whether {@code name} may be a package id or subdir: no dots first, no slashes, no controls. */
  static boolean isPlainName(String name) {
    return name != null && PLAIN_NAME.matcher(name).matches();
  }

  static String servicePath(String subdir, String id) {
    return PACKAGES_PATH + subdir + "/" + id + ".zip";
  }

  /**
   * Reads an index.
   *
   * @param indexUrl where the index came from: relative package URLs resolve against it, and only a
   *     {@code file://} index may name {@code file://} packages
   * @throws IllegalArgumentException when the bytes are not an NLTK data index, saying why
   */
  static NltkIndex parse(byte[] xml, URI indexUrl) {
    if (xml.length > MAX_BYTES) {
      throw new IllegalArgumentException(
          "it is " + xml.length + " bytes, more than the " + MAX_BYTES + " an index may have");
    }
    Document document = readSafely(xml);
    Element root = document.getDocumentElement();
    if (!"nltk_data".equals(root.getTagName())) {
      throw new IllegalArgumentException(
          "its root element is <" + root.getTagName() + ">, not <nltk_data>");
    }
    // Nothing outside <nltk_data> is kept: the upstream's stylesheet (index.xsl) is not served
    // here.
    for (Node child = document.getFirstChild(); child != null; ) {
      Node next = child.getNextSibling();
      if (child != root) {
        document.removeChild(child);
      }
      child = next;
    }
    Map<String, NltkPackage> packages = new LinkedHashMap<>();
    Map<String, String> leftOut = new LinkedHashMap<>();
    boolean fileIndex = "file".equalsIgnoreCase(indexUrl.getScheme());
    for (Element element : children(root, "packages", "package")) {
      String id = element.getAttribute("id");
      String reason = unusable(element, packages, fileIndex, indexUrl);
      if (reason != null) {
        element.getParentNode().removeChild(element);
        if (!id.isEmpty() && !packages.containsKey(id)) {
          leftOut.putIfAbsent(id, reason);
        }
        continue;
      }
      String subdir = element.getAttribute("subdir");
      packages.put(
          id,
          new NltkPackage(
              id,
              subdir,
              indexUrl.resolve(element.getAttribute("url").strip()),
              element.getAttribute("checksum").toLowerCase(Locale.ROOT),
              Long.parseLong(element.getAttribute("size").strip())));
      element.setAttribute("url", servicePath(subdir, id));
    }
    int collections = children(root, "collections", "collection").size();
    return new NltkIndex(
        Collections.unmodifiableMap(packages),
        Collections.unmodifiableMap(leftOut),
        collections,
        write(document));
  }

  Optional<NltkPackage> find(String id) {
    return Optional.ofNullable(packages.get(id));
  }

  /** Why the upstream's package {@code id} is not offered, when it lists one it is left out. */
  Optional<String> whyLeftOut(String id) {
    return Optional.ofNullable(leftOut.get(id));
  }

  int packageCount() {
    return packages.size();
  }

  int collectionCount() {
    return collections;
  }

  /** The index with every package URL root-relative to this service; collections unchanged. */
  String rewritten() {
    return rewritten;
  }

  /** Null when the package can be served; otherwise why not. */
  private static String unusable(
      Element element, Map<String, NltkPackage> seen, boolean fileIndex, URI indexUrl) {
    String id = element.getAttribute("id");
    String subdir = element.getAttribute("subdir");
    if (!isPlainName(id)) {
      return "its id '" + Quote.safe(id, 80) + "' is not a plain name";
    }
    if (seen.containsKey(id)) {
      return "it is listed twice";
    }
    if (!isPlainName(subdir)) {
      return "its subdir '" + Quote.safe(subdir, 80) + "' is not a plain name";
    }
    if (!MD5.matcher(element.getAttribute("checksum").strip()).matches()) {
      return "it has no MD5 checksum to verify the zip against";
    }
    String size = element.getAttribute("size").strip();
    if (!size.matches("[0-9]{1,18}")) {
      return "it has no size to verify the zip against";
    }
    String url = element.getAttribute("url").strip();
    URI resolved;
    try {
      resolved = indexUrl.resolve(url);
    } catch (IllegalArgumentException e) {
      return "its url '" + Quote.safe(url, 80) + "' is not a URL";
    }
    String scheme =
        resolved.getScheme() == null ? "" : resolved.getScheme().toLowerCase(Locale.ROOT);
    boolean allowed =
        scheme.equals("http") || scheme.equals("https") || (fileIndex && scheme.equals("file"));
    if (url.isEmpty() || !allowed) {
      return "its url '"
          + Quote.safe(url, 80)
          + "' is not http(s)"
          + (fileIndex ? " or file" : " (only a file:// index may name local files)");
    }
    return null;
  }

  private static Document readSafely(byte[] xml) {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    try {
      // No DOCTYPE at all: that rules out internal and external entities and DTD fetches (XXE,
      // entity expansion); the rest is belt and braces should a parser ignore the first feature.
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      factory.setFeature("http://xml.org/sax/features/external-general-entities", false);
      factory.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
      factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException("the JDK's XML parser lacks a safety feature: " + e, e);
    }
    factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
    factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
    factory.setXIncludeAware(false);
    factory.setExpandEntityReferences(false);
    factory.setNamespaceAware(false);
    factory.setValidating(false);
    try {
      DocumentBuilder builder = factory.newDocumentBuilder();
      builder.setErrorHandler(RAISE);
      builder.setEntityResolver(
          (publicId, systemId) -> {
            throw new SAXException("external entity " + Quote.safe(systemId, 80) + " refused");
          });
      return builder.parse(new ByteArrayInputStream(xml));
    } catch (SAXParseException e) {
      throw new IllegalArgumentException(
          "it is not well-formed XML (line "
              + e.getLineNumber()
              + ", column "
              + e.getColumnNumber()
              + ": "
              + e.getMessage()
              + ")",
          e);
    } catch (SAXException | IOException e) {
      throw new IllegalArgumentException("it is not well-formed XML (" + e.getMessage() + ")", e);
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException("the JDK's XML parser cannot be configured: " + e, e);
    }
  }

  private static final ErrorHandler RAISE =
      new ErrorHandler() {
        @Override
        public void warning(SAXParseException exception) {}

        @Override
        public void error(SAXParseException exception) throws SAXException {
          throw exception;
        }

        @Override
        public void fatalError(SAXParseException exception) throws SAXException {
          throw exception;
        }
      };

  /** The {@code <child>} elements in every {@code <section>} directly under the root. */
  private static List<Element> children(Element root, String section, String child) {
    List<Element> found = new ArrayList<>();
    for (Node group = root.getFirstChild(); group != null; group = group.getNextSibling()) {
      if (group instanceof Element groupElement && section.equals(groupElement.getTagName())) {
        NodeList members = groupElement.getChildNodes();
        for (int i = 0; i < members.getLength(); i++) {
          if (members.item(i) instanceof Element member && child.equals(member.getTagName())) {
            found.add(member);
          }
        }
      }
    }
    return found;
  }

  private static String write(Document document) {
    try {
      TransformerFactory factory = TransformerFactory.newInstance();
      factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
      factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_STYLESHEET, "");
      Transformer transformer = factory.newTransformer();
      transformer.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
      transformer.setOutputProperty(OutputKeys.METHOD, "xml");
      // Written by hand: the JDK's serializer puts no line break after it.
      transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      StringWriter out = new StringWriter().append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
      transformer.transform(new DOMSource(document), new StreamResult(out));
      return out.append('\n').toString();
    } catch (TransformerException e) {
      throw new IllegalStateException("writing the rewritten NLTK index failed: " + e, e);
    }
  }
}
