# Kiln's NLTK corpus download, run inside the build sandbox with python3 -c.
# Arguments: the NLTK data index URL (the cache-service's /nltk/index.xml through the sandbox's
# relay), the target directory (NLTK_DATA), then the corpus or collection ids of nltk.txt.
# It lays the data out as nltk.downloader does: <dir>/<subdir>/<id>.zip, unzipped next to it when
# the index says unzip="1". Standard library only: it runs on any runtime, with or without nltk.
# Exit status 3 means an id is not in the index (the line "kiln-nltk: not in the index: …" names it);
# 4 that the store could not provide something (a "kiln-nltk: …" line says what and why).
import hashlib
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
import zipfile


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        reason = error.read(500).decode("utf-8", "replace").strip().replace("\n", " ")
        print("kiln-nltk: the farm's store answered HTTP %d for %s: %s" % (error.code, url, reason), flush=True)
    except (urllib.error.URLError, OSError) as error:
        print("kiln-nltk: the farm's store could not be reached for %s: %s" % (url, error), flush=True)
    sys.exit(4)


def main():
    index_url, target, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    root = ElementTree.fromstring(fetch(index_url))
    packages = {p.get("id"): p for p in root.iter("package")}
    collections = {c.get("id"): [i.get("ref") for i in c.iter("item")] for c in root.iter("collection")}

    missing = [name for name in wanted if name not in packages and name not in collections]
    if missing:
        print("kiln-nltk: not in the index: " + " ".join(missing), flush=True)
        sys.exit(3)

    chosen, seen = [], set()

    def add(name):
        if name in seen:
            return
        seen.add(name)
        if name in collections:
            for item in collections[name]:
                add(item)
        elif name in packages:
            chosen.append(packages[name])

    for name in wanted:
        add(name)

    for package in chosen:
        name, subdir = package.get("id"), package.get("subdir") or "misc"
        data = fetch(urllib.parse.urljoin(index_url, package.get("url")))
        checksum = package.get("checksum")
        if checksum and hashlib.md5(data).hexdigest() != checksum:
            print("kiln-nltk: %s does not match its checksum in the index" % name, flush=True)
            sys.exit(4)
        directory = os.path.join(target, subdir)
        os.makedirs(directory, exist_ok=True)
        archive = os.path.join(directory, name + ".zip")
        with open(archive, "wb") as out:
            out.write(data)
        if package.get("unzip", "1") != "0":
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(directory)
        print("Downloaded %s (%d bytes) into %s" % (name, len(data), directory), flush=True)


main()
