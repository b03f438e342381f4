using System.Net;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Policy;

/// <summary>
/// A simple signing lookaside store: <c>BASE/REPO@ALG=HEX/signature-N</c>, N from 1, read until the first missing
/// one (file:// or http(s)://), written (file:// only) after the last present one, as containers/image does.
/// </summary>
public static class LookasideStore
{
    /// <summary>More signatures than this per image are not read.</summary>
    public const int MaxSignatures = 128;

    public static Uri SignatureUri(Uri store, ImageReference image, Digest manifestDigest, int index) =>
        new($"{store.ToString().TrimEnd('/')}/{image.Repository}@{manifestDigest.Algorithm}={manifestDigest.Hex}/signature-{index}");

    /// <summary>Every signature stored for the manifest; none when the first is missing.</summary>
    public static async Task<IReadOnlyList<byte[]>> ReadAsync(Uri store, ImageReference image, Digest manifestDigest, HttpClient http, CancellationToken ct)
    {
        var signatures = new List<byte[]>();
        for (var index = 1; index <= MaxSignatures; index++)
        {
            var uri = SignatureUri(store, image, manifestDigest, index);
            var signature = uri.IsFile ? ReadFile(uri.LocalPath) : await ReadHttpAsync(http, uri, ct).ConfigureAwait(false);
            if (signature is null)
                break;
            signatures.Add(signature);
        }
        return signatures;
    }

    /// <summary>Adds a signature after the existing ones; returns the path written.</summary>
    public static string Write(Uri staging, ImageReference image, Digest manifestDigest, ReadOnlySpan<byte> signature)
    {
        if (!staging.IsFile)
            throw new ArgumentException($"lookaside staging {staging} is not a file:// URL", nameof(staging));
        for (var index = 1; index <= MaxSignatures; index++)
        {
            var path = SignatureUri(staging, image, manifestDigest, index).LocalPath;
            if (File.Exists(path))
                continue;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            file.Write(signature);
            file.Flush(flushToDisk: true);
            return path;
        }
        throw new IOException($"lookaside staging {staging} already holds {MaxSignatures} signatures for {image.Name}@{manifestDigest}");
    }

    private static byte[]? ReadFile(string path)
    {
        if (!File.Exists(path))
            return null;
        var length = new FileInfo(path).Length;
        if (length > OpenPgpSignatures.MaxSignatureBytes)
            throw new InvalidDataException($"signature {path} of {length} bytes is more than the {OpenPgpSignatures.MaxSignatureBytes} allowed");
        return File.ReadAllBytes(path);
    }

    private static async Task<byte[]?> ReadHttpAsync(HttpClient http, Uri uri, CancellationToken ct)
    {
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        if (!response.IsSuccessStatusCode)
            throw new IOException($"lookaside {uri}: {(int)response.StatusCode} {response.ReasonPhrase}");
        await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > OpenPgpSignatures.MaxSignatureBytes)
                throw new InvalidDataException($"signature {uri} is more than the {OpenPgpSignatures.MaxSignatureBytes} bytes allowed");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
