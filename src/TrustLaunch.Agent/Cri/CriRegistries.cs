using Grpc.Core;
using TrustLaunch.Agent.Cri.V1;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Cri;

/// <summary>
/// Where the endpoint reads an image before containerd pulls it: the registry it names, or the mirror containerd is
/// configured with for that registry, with the pull's own credentials when kubelet sends some.
/// </summary>
public sealed class CriRegistries(IReadOnlyDictionary<string, string> mirrors, RegistryClientOptions? options = null) : IDisposable
{
    private readonly RegistryClientOptions _options = options ?? new RegistryClientOptions();
    private readonly RegistryClient _anonymous = new(options);

    /// <summary><paramref name="reference"/> on the host the image is actually fetched from.</summary>
    public ImageReference Source(ImageReference reference) =>
        mirrors.TryGetValue(reference.Registry, out var mirror)
            ? ImageReference.Parse($"{mirror}/{reference.Repository}{(reference.Tag is { } tag ? ":" + tag : "")}{(reference.Digest is { } digest ? "@" + digest : "")}")
            : reference;

    /// <summary>
    /// A client for <paramref name="source"/>: the shared anonymous one, or (dispose it) one with the username and
    /// password kubelet sent. Token auth is refused rather than silently dropped.
    /// </summary>
    public RegistryLease Client(ImageReference source, AuthConfig? auth)
    {
        if (auth is null || auth.CalculateSize() == 0)
            return new RegistryLease(_anonymous, owned: false);
        if (auth.IdentityToken.Length > 0 || auth.RegistryToken.Length > 0)
            throw new RpcException(new Status(StatusCode.Unimplemented, "the TrustLaunch CRI endpoint accepts registry credentials as username/password or auth, not identity or registry tokens"));
        var (user, password) = (auth.Username, auth.Password);
        if (auth.Auth.Length > 0)
        {
            var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth.Auth));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                throw new RpcException(new Status(StatusCode.InvalidArgument, "auth is not base64(username:password)"));
            (user, password) = (decoded[..colon], decoded[(colon + 1)..]);
        }
        var credentials = new Dictionary<string, RegistryCredentials>(_options.Credentials) { [source.Registry] = new RegistryCredentials(user, password) };
        return new RegistryLease(new RegistryClient(_options with { Credentials = credentials }), owned: true);
    }

    /// <summary>
    /// The credentials for containerd's pull of <paramref name="source"/> when kubelet sent none: the node's auth files'
    /// (those the endpoint read the image with), bound to that registry host; null when they hold none for it.
    /// </summary>
    public AuthConfig? ForwardedAuth(ImageReference source, AuthConfig? sent)
    {
        if (sent is not null && sent.CalculateSize() > 0)
            return sent;
        return _options.AuthFiles?.Find(source) is { } node
            ? new AuthConfig { Username = node.Username, Password = node.Password, ServerAddress = "https://" + source.Registry }
            : sent;
    }

    public void Dispose() => _anonymous.Dispose();
}

/// <summary>A registry client for one call; disposes it when it was made for that call.</summary>
public readonly struct RegistryLease(RegistryClient client, bool owned) : IDisposable
{
    public RegistryClient Client => client;

    public void Dispose()
    {
        if (owned)
            client.Dispose();
    }
}
