using System.Net;
using System.Net.Http.Headers;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Registry;

public sealed partial class RegistryClient
{
    private Uri BlobUri(ImageReference repo, Digest digest) => new(BaseUri(repo), $"{repo.Repository}/blobs/{digest}");

    /// <summary>
    /// Opens a blob as a stream that checks size and digest while it is read (see <see cref="VerifyingStream"/>) and,
    /// when the connection breaks, reconnects with <c>Range: bytes=N-</c> (or skips N bytes of a full answer). With
    /// mirrors, a blob up to <see cref="RegistryClientOptions.MaxManifestBytes"/> is read and verified whole first,
    /// so a mirror serving other bytes is given up for the next one; larger ones come from the first source that
    /// answers (<see cref="ReadBlobAsync{T}"/> falls back for those).
    /// </summary>
    public async Task<VerifyingStream> OpenBlobAsync(ImageReference repo, Digest digest, long size, CancellationToken cancellationToken = default)
    {
        if (SourcesFor(repo).Count > 1 && size <= _options.MaxManifestBytes)
        {
            var bytes = await ReadBlobAsync(repo, digest, size, async (stream, ct) =>
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
                return buffer.ToArray();
            }, cancellationToken).ConfigureAwait(false);
            return new VerifyingStream(new MemoryStream(bytes, writable: false), digest, size, $"blob {repo.Name}@{digest}");
        }
        return await FromSourcesAsync(repo, source => OpenBlobFromAsync(source, digest, size, cancellationToken)).ConfigureAwait(false);
    }

    private async Task<VerifyingStream> OpenBlobFromAsync(ImageReference repo, Digest digest, long size, CancellationToken cancellationToken)
    {
        var what = $"blob {repo.Name}@{digest}";
        var first = await OpenBlobAtAsync(repo, digest, 0, what, cancellationToken);
        return new VerifyingStream(first, digest, size, what, (offset, ct) => OpenBlobAtAsync(repo, digest, offset, what, ct), _options.MaxAttempts,
            _options.BlobReadTimeout);
    }

    private async Task<Stream> OpenBlobAtAsync(ImageReference repo, Digest digest, long offset, string what, CancellationToken cancellationToken)
    {
        var response = await SendAsync(repo, push: false, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, BlobUri(repo, digest));
            if (offset > 0)
                request.Headers.Range = new RangeHeaderValue(offset, null);
            return request;
        }, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
                throw await ErrorAsync(response, what, cancellationToken);
        }
        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        if (offset == 0)
            return body;
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            if (response.Content.Headers.ContentRange?.From == offset)
                return body;
            await body.DisposeAsync();
            throw new IOException($"{what}: asked for bytes from {offset}, registry sent range {response.Content.Headers.ContentRange}");
        }
        // No range support: read the content again from the start and drop what was already passed on.
        var skip = new byte[81920];
        for (var left = offset; left > 0;)
        {
            var read = await body.ReadAsync(skip.AsMemory(0, (int)Math.Min(skip.Length, left)), cancellationToken);
            if (read == 0)
                throw new IOException($"{what}: registry restarted the blob and ended before byte {offset}");
            left -= read;
        }
        return body;
    }

    public async Task<bool> BlobExistsAsync(ImageReference repo, Digest digest, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(repo, push: false, () => new HttpRequestMessage(HttpMethod.Head, BlobUri(repo, digest)), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return false;
        if (!response.IsSuccessStatusCode)
            throw await ErrorAsync(response, $"blob {repo.Name}@{digest}", cancellationToken);
        return true;
    }

    /// <summary>Uploads a blob unless the repository has it: POST an upload session, then one PUT with the digest.</summary>
    public async Task PushBlobAsync(ImageReference repo, Digest digest, long size, Stream content, CancellationToken cancellationToken = default)
    {
        var what = $"push blob {repo.Name}@{digest}";
        if (await BlobExistsAsync(repo, digest, cancellationToken))
            return;
        Uri location;
        using (var start = await SendAsync(repo, push: true, () => new HttpRequestMessage(HttpMethod.Post, new Uri(BaseUri(repo), $"{repo.Repository}/blobs/uploads/")),
                   HttpCompletionOption.ResponseContentRead, cancellationToken))
        {
            if (start.StatusCode != HttpStatusCode.Accepted || start.Headers.Location is null)
                throw await ErrorAsync(start, what, cancellationToken);
            location = start.Headers.Location.IsAbsoluteUri ? start.Headers.Location : new Uri(BaseUri(repo), start.Headers.Location);
        }
        var put = new UriBuilder(location);
        put.Query = (string.IsNullOrEmpty(put.Query) ? "" : put.Query.TrimStart('?') + "&") + "digest=" + Uri.EscapeDataString(digest.ToString());
        var origin = content.CanSeek ? content.Position : -1;
        var verifying = new VerifyingStream(content, digest, size, what, leaveOpen: true);
        using var response = await SendAsync(repo, push: true, () =>
        {
            if (origin >= 0)
                content.Position = origin;
            var request = new HttpRequestMessage(HttpMethod.Put, put.Uri) { Content = new StreamContent(verifying) };
            request.Content.Headers.ContentLength = size;
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return request;
        }, HttpCompletionOption.ResponseContentRead, cancellationToken, retry: false);
        if (response.StatusCode != HttpStatusCode.Created)
            throw await ErrorAsync(response, what, cancellationToken);
    }

    public Task PushBlobAsync(ImageReference repo, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) =>
        PushBlobAsync(repo, Digest.Sha256(content.Span), content.Length, new MemoryStream(content.ToArray(), writable: false), cancellationToken);
}
