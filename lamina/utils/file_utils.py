"""Downloading and caching files: `get_file` (Keras signature), hashes, archive extraction.

A download goes to `<target>.part`; an interrupted transfer keeps that file and the next
attempt asks the server for the rest (HTTP `Range`). Only a complete file whose hash
matches is moved into place, with `os.replace`, so the cache never holds a partial or
corrupt file.

Environment:
    LAMINA_HOME     lamina's cache root (default `~/.lamina`); `get_file` stores under it.
    KERAS_HOME      Keras's cache root (default `~/.keras`); files already there are reused.
    LAMINA_OFFLINE  when set to 1/true/yes, never touch the network: missing files raise
                    `DownloadError` saying where to put them.
"""

import hashlib
import os
import shutil
import socket
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from http.client import HTTPException

from lamina.utils.progress import make_progress_bar

_CHUNK = 1 << 16


class DownloadError(OSError):
    """A file could not be fetched (offline, unreachable, HTTP error, transfer cut short)."""


class _Interrupted(Exception):
    """The connection ended before the whole body arrived; the `.part` file is kept."""


def lamina_home():
    """lamina's cache root: `$LAMINA_HOME`, else `~/.lamina`."""
    return os.path.expanduser(os.environ.get("LAMINA_HOME") or os.path.join("~", ".lamina"))


def keras_home():
    """Keras's cache root: `$KERAS_HOME`, else `~/.keras` (same rule as Keras)."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def is_offline():
    """True when `$LAMINA_OFFLINE` asks lamina never to use the network."""
    return os.environ.get("LAMINA_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _resolve_hasher(algorithm, file_hash=None):
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm == "auto" and file_hash is None:
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """Hex digest of a file (`algorithm`: "sha256", "md5", or "auto" = sha256)."""
    hasher = _resolve_hasher(algorithm)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """Whether the file's hash equals `file_hash` ("auto": 64 hex digits = sha256, else md5)."""
    hasher = _resolve_hasher(algorithm, file_hash)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == str(file_hash).lower()


def _algorithm_name(algorithm, file_hash):
    return _resolve_hasher(algorithm, file_hash).name


def _fetch_into(url, part, progress, timeout):
    """One HTTP request appending to (or restarting) `part`. Raises `_Interrupted` when cut short."""
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    headers = {"User-Agent": "lamina-get-file"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            return  # nothing left to send: the .part file is already whole; the hash decides
        raise DownloadError(f"HTTP error {e.code} ({e.reason}) for {url}") from e
    except (urllib.error.URLError, OSError, HTTPException) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"cannot reach {url} ({reason})") from e
    with response:
        resumed = offset and response.status == 206
        if not resumed:
            offset = 0  # server ignored the Range request: start over
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        name = os.path.basename(part)[: -len(".part")]
        bar = make_progress_bar(total, initial=offset, desc=name) if progress else None
        received = 0
        try:
            with open(part, "ab" if resumed else "wb") as f:
                while True:
                    try:
                        chunk = response.read(_CHUNK)
                    except (OSError, HTTPException, socket.timeout) as e:
                        raise _Interrupted(f"connection lost ({e})") from e
                    if not chunk:
                        break
                    f.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        if length is not None and received < int(length):
            raise _Interrupted(f"connection closed after {offset + received} of {total} bytes")


def download_file(url, target, file_hash=None, hash_algorithm="auto", retries=2, progress=True, timeout=30):
    """Download `url` to `target` through `<target>.part`, resuming, verifying, then `os.replace`.

    Args:
        url: http(s) or file URL.
        target: final path; its folder is created.
        file_hash: expected hex digest (sha256, or md5 when 32 digits); None skips the check.
        retries: extra attempts, each resuming the partial file, when a transfer is cut short.
        progress: show a progress bar on stderr.

    Raises:
        DownloadError: offline (`LAMINA_OFFLINE`), unreachable, HTTP error, or still incomplete
            after the retries (the `.part` file is kept; calling again resumes it).
        ValueError: the downloaded file's hash differs (the bad file is deleted).
    """
    target = os.fspath(target)
    part = target + ".part"
    if is_offline():
        raise DownloadError(f"LAMINA_OFFLINE is set, so {url} was not downloaded to {target}")
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    if progress:
        print(f"Downloading data from {url}", flush=True)
    for attempt in range(retries + 1):
        try:
            _fetch_into(url, part, progress, timeout)
            break
        except _Interrupted as e:
            if attempt == retries:
                raise DownloadError(
                    f"download of {url} was interrupted: {e}. The partial file {part} is kept; "
                    "call again to resume from it."
                ) from e
    if file_hash is not None and not validate_file(part, file_hash, hash_algorithm):
        actual = hash_file(part, _algorithm_name(hash_algorithm, file_hash))
        os.remove(part)
        raise ValueError(
            f"checksum mismatch for {url}: expected {_algorithm_name(hash_algorithm, file_hash)} "
            f"{file_hash}, got {actual}. The corrupt download was deleted; nothing was cached."
        )
    os.replace(part, target)
    return target


def _is_within(base, path):
    base = os.path.realpath(base)
    return os.path.commonpath([base, os.path.realpath(path)]) == base


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar(.gz/.bz2/.xz) or zip archive into `path`; False when the format does not match.

    Members that would land outside `path` (absolute names, `..`, links out) are refused.
    Extraction goes to a temporary sibling folder that is renamed into place at the end.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else list(formats)
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or None, got {kind!r}")
        matches = tarfile.is_tarfile(file_path) if kind == "tar" else zipfile.is_zipfile(file_path)
        if not matches:
            continue
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".extract-", dir=parent)
        try:
            if kind == "tar":
                with tarfile.open(file_path) as archive:
                    archive.extractall(tmp, filter="data")
            else:
                with zipfile.ZipFile(file_path) as archive:
                    for name in archive.namelist():
                        if not _is_within(tmp, os.path.join(tmp, name)):
                            raise ValueError(f"refusing to extract {name!r} from {file_path}: it leaves the folder")
                    archive.extractall(tmp)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return True
    return False


def _writable_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Return a local path for the file at `origin`, downloading it into the cache if needed.

    Same arguments and file layout as `keras.utils.get_file`; the cache root is
    `cache_dir`, default `$LAMINA_HOME` (`~/.lamina`). With the default cache, a file that
    Keras already downloaded (`$KERAS_HOME/<cache_subdir>/<fname>`, hash permitting) is
    reused instead of downloading it again.

    Args:
        fname: local file name (no folders); default: the last part of `origin`'s path.
            With `extract=True`, a name without a dot is the extraction folder.
        origin: URL of the file.
        untar: deprecated spelling of `extract=True, archive_format="tar"`.
        md5_hash: deprecated spelling of `file_hash` with `hash_algorithm="md5"`.
        file_hash: expected sha256 (64 hex digits) or md5 (32) of the downloaded file.
        cache_subdir: folder under the cache root, or an absolute folder.
        hash_algorithm: "auto", "sha256" or "md5".
        extract: extract the archive and return the extraction folder.
        archive_format: "auto" (tar then zip), "tar", "zip" or None.
        cache_dir: cache root instead of `~/.lamina`.
        force_download: download even when a valid cached copy exists.

    Returns:
        Path of the file, or of the extraction folder when extracting.

    Raises:
        DownloadError: offline or unreachable; the message says where to put the file by hand.
        ValueError: bad arguments, or the download's hash does not match `file_hash`.
    """
    if origin is None:
        raise ValueError("get_file: `origin` (the URL of the file) is required")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _resolve_hasher(hash_algorithm, file_hash)  # validate early
    use_default_cache = cache_dir is None
    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else lamina_home()
    if not _writable_dir(base):
        base = os.path.join(tempfile.gettempdir(), ".lamina")
    datadir = os.path.join(base, os.fspath(cache_subdir))

    provided = fname is not None and os.fspath(fname) != ""
    fname = os.fspath(fname) if provided else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"get_file: cannot take a file name from origin {origin!r}; pass `fname`")
    if os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(
            f"get_file: `fname` must be a file name, not a path (got {fname!r}); "
            "use `cache_dir`/`cache_subdir` to choose the folder"
        )
    extracting = bool(extract or untar)
    if untar:
        archive_format = "tar"
    rel_target, rel_extract = fname, None
    if extracting:
        if provided and "." in fname:
            rel_extract = fname[: fname.find(".")] + "_extracted"
        else:
            rel_extract, rel_target = fname, fname + "_archive"
    target = os.path.join(datadir, rel_target)

    def valid(path):
        return os.path.exists(path) and (file_hash is None or validate_file(path, file_hash, hash_algorithm))

    downloaded = False
    if force_download or not valid(target):
        keras_copy = os.path.join(keras_home(), os.fspath(cache_subdir), rel_target)
        if not force_download and use_default_cache and valid(keras_copy):
            target = keras_copy
        else:
            if os.path.exists(target) and not force_download:
                print(f"The cached file {target} does not match its hash; downloading it again.")
            try:
                download_file(origin, target, file_hash=file_hash, hash_algorithm=hash_algorithm)
            except DownloadError as e:
                raise DownloadError(
                    f"{str(e).rstrip('.')}.\nTo use the file offline, download {origin} elsewhere and put it at {target}"
                    + (f" (or at {keras_copy})" if use_default_cache else "")
                ) from e
            downloaded = True

    if not extracting:
        return target
    extraction_dir = os.path.join(datadir, rel_extract)
    if downloaded or not os.path.isdir(extraction_dir):
        if not extract_archive(target, extraction_dir, archive_format):
            raise ValueError(f"get_file: {target} is not a {archive_format} archive that can be extracted")
    return extraction_dir
