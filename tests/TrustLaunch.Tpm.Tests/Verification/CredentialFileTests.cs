using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

public sealed class CredentialFileTests
{
    private static readonly byte[] Blob = [0x00, 0x20, .. Enumerable.Repeat((byte)0xAA, 32), 0x11, 0x22, 0x33];
    private static readonly byte[] Secret = [.. Enumerable.Repeat((byte)0x5C, 256)];

    private static byte[] ValidFile() =>
    [
        0xBA, 0xDC, 0xC0, 0xDE, 0x00, 0x00, 0x00, 0x01,
        0x00, (byte)Blob.Length, .. Blob,
        0x01, 0x00, .. Secret,
    ];

    [Fact]
    public void ToTpm2ToolsFile_Layout_IsMagicVersionThenTwoTpm2b()
    {
        var file = new MadeCredential(Blob, Secret).ToTpm2ToolsFile();

        Assert.Equal(ValidFile(), file);
    }

    [Fact]
    public void FromTpm2ToolsFile_ValidFile_RoundTrips()
    {
        var parsed = MadeCredential.FromTpm2ToolsFile(ValidFile());

        Assert.Equal(Blob, parsed.CredentialBlob);
        Assert.Equal(Secret, parsed.EncryptedSecret);
        Assert.Equal(ValidFile(), parsed.ToTpm2ToolsFile());
    }

    [Fact]
    public void FromTpm2ToolsFile_WrongMagic_NamesMagic()
    {
        var file = ValidFile();
        file[3] = 0xDF;

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: magic 0xBADCC0DF, expected 0xBADCC0DE", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_WrongVersion_NamesVersion()
    {
        var file = ValidFile();
        file[7] = 2;

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: version 2, expected 1", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_TruncatedSecret_NamesSecret()
    {
        var file = ValidFile()[..^1];

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: secret: needs 256 bytes at offset 49, only 255 remain", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_TruncatedInHeader_NamesVersion()
    {
        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(ValidFile()[..6]));

        Assert.Equal("tpm2-tools credential file: version: needs 4 bytes at offset 4, only 2 remain", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_TrailingBytes_Refused()
    {
        byte[] file = [.. ValidFile(), 0x00];

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: 1 unexpected trailing bytes", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_OversizeBlobLength_RefusedBeforeReading()
    {
        var file = ValidFile();
        file[8] = 0x10;

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: credentialBlob: size 4133 exceeds the maximum of 132", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_OversizeSecretLength_RefusedBeforeReading()
    {
        var file = ValidFile();
        file[8 + 2 + Blob.Length] = 0x02;
        file[8 + 2 + Blob.Length + 1] = 0x01;

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: secret: size 513 exceeds the maximum of 512", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_IntegrityHmacLongerThanBlob_NamesIntegrityHmac()
    {
        var file = ValidFile();
        file[11] = 0x30; // integrityHMAC claims 48 bytes, the blob holds 35 after the size

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: credentialBlob.integrityHMAC: needs 48 bytes at offset 2, only 35 remain", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_NoEncIdentity_Refused()
    {
        byte[] blob = [0x00, 0x20, .. new byte[32]];
        byte[] file = [0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1, 0x00, (byte)blob.Length, .. blob, 0x00, 0x01, 0x42];

        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile(file));

        Assert.Equal("tpm2-tools credential file: credentialBlob.encIdentity is empty", e.Message);
    }

    [Fact]
    public void FromTpm2ToolsFile_Empty_NamesMagic()
    {
        var e = Assert.Throws<TpmFormatException>(() => MadeCredential.FromTpm2ToolsFile([]));

        Assert.Equal("tpm2-tools credential file: magic: needs 4 bytes at offset 0, only 0 remain", e.Message);
    }
}
