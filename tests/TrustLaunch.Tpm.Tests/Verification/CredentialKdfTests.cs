using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

public sealed class CredentialKdfTests
{
    // The KDFa self-test vector of the TCG TPM 2.0 reference implementation (KdfTestData.h, also in libtpms):
    // a 20-byte key, label "KDFSELFTESTLABEL", 8-byte contextU and contextV, 160 bits out, one result per hash.
    private static readonly byte[] SelfTestKey = Convert.FromHexString("271FA08BBDC5060EC3DFA928FF9B73123A12DA0C");
    private static readonly byte[] SelfTestContextU = Convert.FromHexString("CE244F395DCA7391");
    private static readonly byte[] SelfTestContextV = Convert.FromHexString("DA504031DDF12E83");

    [Theory]
    [InlineData(TpmAlgId.Sha1, "55B5A7184AA07423C47DAE766C26A2377D7CF851")]
    [InlineData(TpmAlgId.Sha256, "BB0259E1C8BA607E6A2CD704B69A902E9ADE84C4")]
    [InlineData(TpmAlgId.Sha384, "1DCE70C9113EB2DBA47BD9CFC72BF46F45B09312")]
    [InlineData(TpmAlgId.Sha512, "8BE2C1B85B78569B9FA759F5857C56D684810FD3")]
    public void KdfA_ReferenceImplementationSelfTestVector_Matches(TpmAlgId hash, string expected)
    {
        var output = TpmKdf.KdfA(hash, SelfTestKey, "KDFSELFTESTLABEL", SelfTestContextU, SelfTestContextV, 160);

        Assert.Equal(expected, Convert.ToHexString(output));
    }

    [Fact]
    public void KdfA_LabelWithItsZeroOctet_SameAsWithout()
    {
        var withZero = TpmKdf.KdfA(TpmAlgId.Sha256, SelfTestKey, "KDFSELFTESTLABEL\0", SelfTestContextU, SelfTestContextV, 160);

        Assert.Equal("BB0259E1C8BA607E6A2CD704B69A902E9ADE84C4", Convert.ToHexString(withZero));
    }

    [Fact]
    public void KdfA_TwoBlocks_EqualsHmacCountersConcatenated()
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var u = "context-u"u8.ToArray();
        var v = "context-v"u8.ToArray();

        var output = TpmKdf.KdfA(TpmAlgId.Sha256, key, "STORAGE", u, v, 384);

        // Part 1, 11.4.10.2: K(i) = HMAC(key, [i]32 || Label || 00 || Context || [L]32), Context = contextU || contextV.
        byte[] Block(uint i) => HMACSHA256.HashData(key, (byte[])[.. U32(i), .. "STORAGE\0"u8, .. u, .. v, .. U32(384)]);
        Assert.Equal([.. Block(1), .. Block(2).AsSpan(0, 16)], output);
    }

    [Fact]
    public void KdfA_BitsNotAMultipleOf8_ClearsTheHighBitsOfTheFirstOctet()
    {
        var key = new byte[] { 1, 2, 3 };

        var output = TpmKdf.KdfA(TpmAlgId.Sha256, key, "X", [], [], 12);

        var block = HMACSHA256.HashData(key, (byte[])[.. U32(1), .. "X\0"u8, .. U32(12)]);
        Assert.Equal([(byte)(block[0] & 0x0F), block[1]], output);
    }

    [Fact]
    public void KdfE_Sha256_EqualsConcatKdfByHand()
    {
        var z = RandomNumberGenerator.GetBytes(32);
        var partyU = RandomNumberGenerator.GetBytes(32);
        var partyV = RandomNumberGenerator.GetBytes(32);

        var output = TpmKdf.KdfE(TpmAlgId.Sha256, z, "IDENTITY", partyU, partyV, 320);

        byte[] Block(uint i) => SHA256.HashData([.. U32(i), .. z, .. Encoding.ASCII.GetBytes("IDENTITY\0"), .. partyU, .. partyV]);
        Assert.Equal([.. Block(1), .. Block(2).AsSpan(0, 8)], output);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-8)]
    [InlineData(8 * 1024 + 8)]
    public void KdfA_BitsOutOfRange_Throws(int bits) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TpmKdf.KdfA(TpmAlgId.Sha256, [1], "L", [], [], bits));

    private static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }
}
