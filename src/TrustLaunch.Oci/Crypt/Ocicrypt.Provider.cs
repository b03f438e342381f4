using System.Security.Cryptography;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Crypt;

/// <summary>Turns a provider packet's <c>kid</c> (a key broker resource URI) into its 32-byte key-encryption key.</summary>
public interface IKeyEncryptionKeySource
{
    /// <summary>The key's bytes; the caller wipes them.</summary>
    /// <exception cref="CryptographicException">The key cannot be had (unknown or malformed kid, broker refusal); the message says why.</exception>
    Task<byte[]> GetKeyEncryptionKeyAsync(string kid, CancellationToken cancellationToken);
}

/// <summary>A key provider recipient of an encrypted layer: the key-encryption key and the broker resource (<c>kbs://…</c>) holding it.</summary>
public sealed class ProviderRecipient : IDisposable
{
    private readonly byte[] kek;

    public ProviderRecipient(string kid, ReadOnlySpan<byte> kek)
    {
        // Wrapping an empty payload checks kid and key length with the packet's own refusals.
        KeyProviderPacket.Wrap([], kek, kid);
        Kid = kid;
        this.kek = kek.ToArray();
    }

    public string Kid { get; }

    internal ReadOnlySpan<byte> Kek => kek;

    public void Dispose() => CryptographicOperations.ZeroMemory(kek);
}

public static partial class Ocicrypt
{
    /// <summary>
    /// As <see cref="Decrypt"/>, and the layer key may come from the <see cref="KeyProviderPacket.Annotation"/>
    /// packets, opened with keys from <paramref name="provider"/>; the JWE recipients and <paramref name="keys"/> are
    /// tried when there is no provider, no packet, or no packet opens.
    /// </summary>
    public static async Task<DecryptingStream> DecryptAsync(OciDescriptor encryptedLayer, Stream ciphertext, IReadOnlyList<DecryptionKey> keys,
        IKeyEncryptionKeySource? provider, bool leaveOpen = false, CancellationToken cancellationToken = default) =>
        Open(encryptedLayer, ciphertext, await UnwrapKeyAsync(encryptedLayer, keys, provider, cancellationToken).ConfigureAwait(false), leaveOpen);

    /// <summary>As <see cref="DecryptedDescriptor"/>, with the key provider path of <see cref="DecryptAsync"/>.</summary>
    public static async Task<OciDescriptor> DecryptedDescriptorAsync(OciDescriptor encryptedLayer, IReadOnlyList<DecryptionKey> keys,
        IKeyEncryptionKeySource? provider, CancellationToken cancellationToken = default)
    {
        var opts = await UnwrapKeyAsync(encryptedLayer, keys, provider, cancellationToken).ConfigureAwait(false);
        CryptographicOperations.ZeroMemory(opts.SymKey);
        return PlainDescriptor(encryptedLayer, opts);
    }

    internal static async Task<LayerKey> UnwrapKeyAsync(OciDescriptor layer, IReadOnlyList<DecryptionKey> keys, IKeyEncryptionKeySource? provider,
        CancellationToken cancellationToken)
    {
        var hmac = ReadPublicOptions(layer);
        var annotations = layer.Annotations ?? new Dictionary<string, string>();
        if (provider is null || !annotations.TryGetValue(KeyProviderPacket.Annotation, out var packets))
            return UnwrapJwe(layer, hmac, keys);
        try
        {
            return await UnwrapProviderAsync(layer, hmac, packets, provider, cancellationToken).ConfigureAwait(false);
        }
        catch (CryptographicException providerRefusal) when (keys.Count > 0 && annotations.ContainsKey(KeysJweAnnotation))
        {
            try
            {
                return UnwrapJwe(layer, hmac, keys);
            }
            catch (CryptographicException jweRefusal)
            {
                throw new CryptographicException($"{providerRefusal.Message}; {jweRefusal.Message}");
            }
        }
    }

    private static async Task<LayerKey> UnwrapProviderAsync(OciDescriptor layer, byte[] hmac, string packets, IKeyEncryptionKeySource provider,
        CancellationToken cancellationToken)
    {
        var refusals = new List<string>();
        foreach (var entry in packets.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                var plain = await KeyProviderPacket.OpenAsync(DecodeBase64(entry), provider.GetKeyEncryptionKeyAsync, cancellationToken).ConfigureAwait(false);
                try
                {
                    return ParsePrivateOptions(plain, hmac, layer.Digest);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(plain);
                }
            }
            catch (CryptographicException e)
            {
                refusals.Add(e.Message);
            }
        }
        if (refusals.Count == 0)
            throw new CryptographicException($"layer {layer.Digest}: annotation {KeyProviderPacket.Annotation} holds no packet");
        throw new CryptographicException($"layer {layer.Digest}: {string.Join("; ", refusals)}");
    }

    private static byte[] DecodeBase64(string entry)
    {
        if (entry.Length > KeyProviderPacket.MaxPacketLength * 4 / 3 + 4)
            throw new CryptographicException($"{KeyProviderPacket.RefusalPrefix}annotation packet is more than {KeyProviderPacket.MaxPacketLength} bytes");
        try
        {
            return Convert.FromBase64String(entry);
        }
        catch (FormatException)
        {
            throw new CryptographicException($"{KeyProviderPacket.RefusalPrefix}annotation packet is malformed: not base64");
        }
    }

    private static string WrapForProviders(ReadOnlySpan<byte> privateOptions, IReadOnlyList<ProviderRecipient> providers)
    {
        var packets = new List<string>(providers.Count);
        foreach (var provider in providers)
            packets.Add(Convert.ToBase64String(KeyProviderPacket.Wrap(privateOptions, provider.Kek, provider.Kid)));
        return string.Join(',', packets);
    }
}
