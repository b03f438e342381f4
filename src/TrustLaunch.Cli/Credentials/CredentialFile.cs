using System.Buffers.Binary;

namespace TrustLaunch.Cli.Credentials;

/// <summary>The two halves of a MakeCredential result: TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET contents.</summary>
public sealed record Credential(byte[] CredentialBlob, byte[] EncryptedSecret);

/// <summary>
/// Reads tpm2-tools' credential file (<c>tpm2_makecredential -o</c>):
/// <c>BADCC0DE 00000001 || TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET</c>, all big-endian.
/// Stand-in until TrustLaunch.Tpm.Verification's <c>MadeCredential.FromTpm2ToolsFile</c> is merged.
/// </summary>
public static class CredentialFile
{
    public const uint Magic = 0xBADCC0DE;
    public const uint Version = 1;
    private const int HeaderSize = 8;
    /// <summary>TPM2B_ID_OBJECT: integrity HMAC (2 + 64) plus the encrypted identity (2 + 64) at most.</summary>
    private const int MaxIdObject = 2 + 64 + 2 + 64;
    /// <summary>TPM2B_ENCRYPTED_SECRET holds at most sizeof(TPMU_ENCRYPTED_SECRET): an RSA 4096 ciphertext.</summary>
    private const int MaxEncryptedSecret = 512;

    public static Credential Read(string path) => Parse(File.ReadAllBytes(path), path);

    public static Credential Parse(ReadOnlySpan<byte> data, string source)
    {
        if (data.Length < HeaderSize)
            throw Bad(source, $"{data.Length} bytes is too short for the 8-byte header");
        var magic = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (magic != Magic)
            throw Bad(source, $"magic is 0x{magic:X8}, expected 0x{Magic:X8}");
        var version = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        if (version != Version)
            throw Bad(source, $"version is {version}, expected {Version}");
        var rest = data[HeaderSize..];
        var blob = ReadSized(ref rest, "TPM2B_ID_OBJECT", MaxIdObject, source);
        var secret = ReadSized(ref rest, "TPM2B_ENCRYPTED_SECRET", MaxEncryptedSecret, source);
        if (rest.Length != 0)
            throw Bad(source, $"{rest.Length} unexpected bytes after TPM2B_ENCRYPTED_SECRET");
        return new Credential(blob, secret);
    }

    private static byte[] ReadSized(ref ReadOnlySpan<byte> data, string field, int max, string source)
    {
        if (data.Length < 2)
            throw Bad(source, $"{field}: the size field is missing");
        var size = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (size == 0 || size > max)
            throw Bad(source, $"{field}: size {size}, expected 1 to {max}");
        if (data.Length - 2 < size)
            throw Bad(source, $"{field}: size {size} but only {data.Length - 2} bytes follow");
        var value = data.Slice(2, size).ToArray();
        data = data[(2 + size)..];
        return value;
    }

    private static FormatException Bad(string source, string detail) => new($"credential file '{source}': {detail}");
}
