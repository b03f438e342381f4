using System.Net;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Registry;

public sealed partial class RegistryClient
{
    /// <summary>
    /// Where reads of <paramref name="reference"/> go, in order (registries.conf mirrors, then the location). Throws
    /// <see cref="RegistryBlockedException"/> for a blocked registry.
    /// </summary>
    public IReadOnlyList<RegistrySource> SourcesFor(ImageReference reference) => _options.Registries.SourcesFor(reference);

    /// <summary>
    /// Runs <paramref name="attempt"/> against each source in turn until one succeeds: a source that fails to answer,
    /// answers an error, or serves content that does not match its digest is given up (and reported through
    /// <see cref="RegistryClientOptions.SourceRefused"/>) for the next; the last one's failure is thrown.
    /// </summary>
    private async Task<T> FromSourcesAsync<T>(ImageReference reference, Func<ImageReference, Task<T>> attempt)
    {
        var sources = SourcesFor(reference);
        for (var i = 0; ; i++)
        {
            try
            {
                return await attempt(sources[i].Reference).ConfigureAwait(false);
            }
            catch (Exception e) when (i + 1 < sources.Count && e is RegistryException or OciContentException or InvalidDataException or IOException)
            {
                _options.SourceRefused?.Invoke($"{(sources[i].IsMirror ? "mirror" : "registry")} {sources[i].Reference.Registry} refused for {reference}: {e.Message}; trying {sources[i + 1].Reference.Registry}");
            }
        }
    }

    /// <summary>
    /// Reads a blob through <paramref name="consume"/>, from the first source that serves it whole: when the bytes
    /// of one source do not match the digest or size (<see cref="OciContentException"/> at the end of the stream),
    /// the next source is read from the start. <paramref name="consume"/> must therefore be repeatable.
    /// </summary>
    public Task<T> ReadBlobAsync<T>(ImageReference repo, Digest digest, long size, Func<VerifyingStream, CancellationToken, Task<T>> consume,
        CancellationToken cancellationToken = default) =>
        FromSourcesAsync(repo, async source =>
        {
            await using var stream = await OpenBlobFromAsync(source, digest, size, cancellationToken).ConfigureAwait(false);
            return await consume(stream, cancellationToken).ConfigureAwait(false);
        });

    /// <summary>The client for <paramref name="repo"/>'s host: its own when certs.d has a directory for it.</summary>
    private HttpClient HttpFor(ImageReference repo)
    {
        if (_fixedHandler || _options.Certs is not { } certs)
            return _http;
        return _hostClients.GetOrAdd(repo.ApiHost, host => new Lazy<HttpClient>(() =>
            certs.For(host) is { } tls ? CreateHttpClient(CreateHandler(tls)) : _http)).Value;
    }

    private HttpClient CreateHttpClient(HttpMessageHandler handler)
    {
        var client = new HttpClient(handler) { Timeout = _options.RequestTimeout };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("trustlaunch/0.1");
        return client;
    }

    private SocketsHttpHandler CreateHandler(HostTls? tls)
    {
        var sockets = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        var roots = new X509Certificate2Collection(_extraRoots);
        if (tls is not null)
        {
            roots.AddRange(tls.Roots);
            if (tls.ClientCertificates.Count > 0)
                sockets.SslOptions.ClientCertificates = tls.ClientCertificates;
        }
        if (roots.Count > 0)
            sockets.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ValidateWithRoots(roots, certificate, chain, errors);
        return sockets;
    }
}
