using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

/// <summary>
/// The output of MakeCredential, as TPM2_ActivateCredential takes it. <see cref="CredentialBlob"/> is the body of
/// TPM2B_ID_OBJECT (u16 digest size || integrityHMAC || encIdentity); <see cref="EncryptedSecret"/> is the body of
/// TPM2B_ENCRYPTED_SECRET (RSA-OAEP ciphertext, or the ephemeral TPMS_ECC_POINT).
/// </summary>
public sealed record MadeCredential(byte[] CredentialBlob, byte[] EncryptedSecret)
{
    /// <summary>The first four bytes of a tpm2-tools credential file.</summary>
    public const uint Tpm2ToolsMagic = 0xBADCC0DE;
    public const uint Tpm2ToolsVersion = 1;

    /// <summary>sizeof(TPMS_ID_OBJECT): two TPM2B_DIGESTs of the largest digest.</summary>
    public const int MaxCredentialBlobSize = 2 * (2 + TpmHash.MaxDigestSize);

    /// <summary>sizeof(TPMU_ENCRYPTED_SECRET): an RSA-4096 ciphertext is the largest member.</summary>
    public const int MaxEncryptedSecretSize = TpmPublic.MaxRsaBytes;

    private const string FileStructure = "tpm2-tools credential file";

    /// <summary>The file <c>tpm2_makecredential -o</c> writes: BADCC0DE 00000001 || TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET.</summary>
    public byte[] ToTpm2ToolsFile() => new TpmWriter(8 + 4 + CredentialBlob.Length + EncryptedSecret.Length)
        .WriteUInt32(Tpm2ToolsMagic)
        .WriteUInt32(Tpm2ToolsVersion)
        .WriteSized(CredentialBlob)
        .WriteSized(EncryptedSecret)
        .ToArray();

    /// <summary>Reads what <c>tpm2_makecredential -o</c> writes; anything else is a <see cref="TpmFormatException"/>.</summary>
    public static MadeCredential FromTpm2ToolsFile(ReadOnlySpan<byte> file)
    {
        var r = new TpmReader(file, FileStructure);
        var magic = r.ReadUInt32("magic");
        if (magic != Tpm2ToolsMagic)
            r.Throw($"magic 0x{magic:X8}, expected 0x{Tpm2ToolsMagic:X8}");
        var version = r.ReadUInt32("version");
        if (version != Tpm2ToolsVersion)
            r.Throw($"version {version}, expected {Tpm2ToolsVersion}");
        var blob = r.ReadSized("credentialBlob", MaxCredentialBlobSize);
        CheckIdObject(blob);
        var secret = r.ReadSized("secret", MaxEncryptedSecretSize);
        if (secret.Length == 0)
            r.Throw("secret is empty");
        r.ExpectEnd();
        return new MadeCredential(blob.ToArray(), secret.ToArray());
    }

    // TPMS_ID_OBJECT: integrityHMAC (TPM2B_DIGEST) then encIdentity, which must not be empty.
    private static void CheckIdObject(ReadOnlySpan<byte> blob)
    {
        var r = new TpmReader(blob, FileStructure);
        var hmac = r.ReadSized("credentialBlob.integrityHMAC", TpmHash.MaxDigestSize);
        if (hmac.Length == 0)
            r.Throw("credentialBlob.integrityHMAC is empty");
        if (r.Remaining == 0)
            r.Throw("credentialBlob.encIdentity is empty");
    }
}
