using System.Security.Cryptography;

namespace TrustLaunch.Tpm.Structures;

/// <summary>The hash algorithms a TPM bank or name can use, mapped to .NET.</summary>
public static class TpmHash
{
    public const int MaxDigestSize = 64;

    public static bool IsHash(TpmAlgId alg) => alg is TpmAlgId.Sha1 or TpmAlgId.Sha256 or TpmAlgId.Sha384 or TpmAlgId.Sha512;

    public static int DigestSize(TpmAlgId alg) => alg switch
    {
        TpmAlgId.Sha1 => 20,
        TpmAlgId.Sha256 => 32,
        TpmAlgId.Sha384 => 48,
        TpmAlgId.Sha512 => 64,
        _ => throw new ArgumentException($"{alg} is not a hash algorithm TrustLaunch supports"),
    };

    public static HashAlgorithmName Name(TpmAlgId alg) => alg switch
    {
        TpmAlgId.Sha1 => HashAlgorithmName.SHA1,
        TpmAlgId.Sha256 => HashAlgorithmName.SHA256,
        TpmAlgId.Sha384 => HashAlgorithmName.SHA384,
        TpmAlgId.Sha512 => HashAlgorithmName.SHA512,
        _ => throw new ArgumentException($"{alg} is not a hash algorithm TrustLaunch supports"),
    };

    public static byte[] Hash(TpmAlgId alg, ReadOnlySpan<byte> data) => alg switch
    {
        TpmAlgId.Sha1 => SHA1.HashData(data),
        TpmAlgId.Sha256 => SHA256.HashData(data),
        TpmAlgId.Sha384 => SHA384.HashData(data),
        TpmAlgId.Sha512 => SHA512.HashData(data),
        _ => throw new ArgumentException($"{alg} is not a hash algorithm TrustLaunch supports"),
    };

    /// <summary>Parses a bank name as tpm2-tools writes it: sha1, sha256, sha384, sha512.</summary>
    public static TpmAlgId Parse(string name) => name.ToLowerInvariant() switch
    {
        "sha1" => TpmAlgId.Sha1,
        "sha256" => TpmAlgId.Sha256,
        "sha384" => TpmAlgId.Sha384,
        "sha512" => TpmAlgId.Sha512,
        _ => throw new ArgumentException($"unknown hash algorithm '{name}': use sha1, sha256, sha384 or sha512"),
    };

    public static string ToName(TpmAlgId alg) => alg switch
    {
        TpmAlgId.Sha1 => "sha1",
        TpmAlgId.Sha256 => "sha256",
        TpmAlgId.Sha384 => "sha384",
        TpmAlgId.Sha512 => "sha512",
        _ => alg.ToString().ToLowerInvariant(),
    };
}
