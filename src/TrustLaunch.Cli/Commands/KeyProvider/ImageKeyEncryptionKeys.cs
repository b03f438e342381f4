using System.Security.Cryptography;
using TrustLaunch.Kbs.Admin;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Resources;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Cli.Commands.KeyProvider;

/// <summary>
/// The key-encryption keys of provider-encrypted images, kept as key broker resources. The first wrap for a resource
/// puts a fresh random 32-byte key there through the admin API; later wraps reuse it (ocicrypt asks once per layer,
/// and images already encrypted under it must keep opening), so one resource per image means one key per image.
/// </summary>
internal static class ImageKeyEncryptionKeys
{
    /// <summary>A resource URI that names no broker: the key lives at the <c>--kbs-admin</c> broker.</summary>
    /// <exception cref="FormatException">Not a kbs:/// resource URI.</exception>
    public static KbsResourceUri ParseKid(string kid)
    {
        var uri = KbsResourceUri.Parse(kid);
        if (uri.Authority is not null)
            throw new FormatException($"resource URI '{kid}' names the broker {uri.Authority}: the key-encryption key is kept at the --kbs-admin broker, name it kbs:///{uri.Path}");
        ResourcePath.Create(uri.Repository, uri.Type, uri.Tag);
        return uri;
    }

    /// <summary>The key at <paramref name="kid"/>, created there when there is none. The caller wipes it.</summary>
    public static async Task<byte[]> GetOrCreateAsync(KbsAdminClient admin, KbsResourceUri kid, CancellationToken cancellationToken)
    {
        var path = ResourcePath.Create(kid.Repository, kid.Type, kid.Tag);
        if (await admin.GetResourceAsync(path, cancellationToken).ConfigureAwait(false) is { } existing)
            return RequireKek(existing, kid);
        var kek = RandomNumberGenerator.GetBytes(KeyProviderPacket.KekLength);
        bool created;
        try
        {
            // Create-only: of two first wraps at once, one key wins and both wrap under it.
            created = await admin.CreateResourceAsync(path, kek, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(kek);
            throw;
        }
        if (created)
            return kek;
        CryptographicOperations.ZeroMemory(kek);
        var winner = await admin.GetResourceAsync(path, cancellationToken).ConfigureAwait(false)
            ?? throw new CliFailureException($"resource {kid.WithoutAuthority} was created by another wrap and removed before it could be read");
        return RequireKek(winner, kid);
    }

    private static byte[] RequireKek(byte[] resource, KbsResourceUri kid)
    {
        if (resource.Length == KeyProviderPacket.KekLength)
            return resource;
        var length = resource.Length;
        CryptographicOperations.ZeroMemory(resource);
        throw new CliFailureException($"resource {kid.WithoutAuthority} holds {length} bytes, not a {KeyProviderPacket.KekLength}-byte key-encryption key");
    }
}
