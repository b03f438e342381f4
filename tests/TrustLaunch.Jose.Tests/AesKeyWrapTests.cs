using System.Security.Cryptography;

namespace TrustLaunch.Jose.Tests;

public sealed class AesKeyWrapTests
{
    // RFC 3394 §4.1, 4.2, 4.3, 4.4, 4.5, 4.6.
    [Theory]
    [InlineData("000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")]
    [InlineData("000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF", "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D")]
    [InlineData("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7")]
    [InlineData("000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF0001020304050607", "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2")]
    [InlineData("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF0001020304050607", "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1")]
    [InlineData("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")]
    public void WrapAndUnwrap_Rfc3394Vectors_Match(string kekHex, string dataHex, string wrappedHex)
    {
        var kek = Convert.FromHexString(kekHex);
        var data = Convert.FromHexString(dataHex);
        var wrapped = Convert.FromHexString(wrappedHex);
        Assert.Equal(wrapped, AesKeyWrap.Wrap(kek, data));
        Assert.Equal(data, AesKeyWrap.Unwrap(kek, wrapped));
    }

    [Fact]
    public void Unwrap_ModifiedData_RefusedWithIntegrityError()
    {
        var kek = Convert.FromHexString("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        var wrapped = Convert.FromHexString("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
        wrapped[3] ^= 1;
        var e = Assert.Throws<CryptographicException>(() => AesKeyWrap.Unwrap(kek, wrapped));
        Assert.Equal("AES key unwrap failed: integrity check value mismatch", e.Message);
    }

    [Fact]
    public void Unwrap_WrongLength_Refused()
    {
        var e = Assert.Throws<CryptographicException>(() => AesKeyWrap.Unwrap(new byte[32], new byte[20]));
        Assert.Equal("wrapped key of 20 bytes is not a multiple of 8 of at least 24", e.Message);
    }
}
