using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrustLaunch.Jose.Tests;

public class CanonicalJsonTests
{
    private static string Canonical(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Encoding.UTF8.GetString(CanonicalJson.Serialize(doc.RootElement));
    }

    [Fact]
    public void Serialize_Rfc8785Section324Example_MatchesPublishedOutput()
    {
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        Assert.Equal(
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}",
            Canonical(input));
    }

    [Fact]
    public void Serialize_Rfc8785SortingExample_SortsByUtf16CodeUnits()
    {
        const string input = """
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """;
        Assert.Equal(
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
            "\"\u20ac\":\"Euro Sign\",\"\ud83d\ude00\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
            Canonical(input));
    }

    // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    [Theory]
    [InlineData(0x0000000000000000UL, "0")]
    [InlineData(0x8000000000000000UL, "0")]
    [InlineData(0x0000000000000001UL, "5e-324")]
    [InlineData(0x8000000000000001UL, "-5e-324")]
    [InlineData(0x7fefffffffffffffUL, "1.7976931348623157e+308")]
    [InlineData(0xffefffffffffffffUL, "-1.7976931348623157e+308")]
    [InlineData(0x4340000000000000UL, "9007199254740992")]
    [InlineData(0xc340000000000000UL, "-9007199254740992")]
    [InlineData(0x4430000000000000UL, "295147905179352830000")]
    [InlineData(0x44b52d02c7e14af5UL, "9.999999999999997e+22")]
    [InlineData(0x44b52d02c7e14af6UL, "1e+23")]
    [InlineData(0x44b52d02c7e14af7UL, "1.0000000000000001e+23")]
    [InlineData(0x444b1ae4d6e2ef4eUL, "999999999999999700000")]
    [InlineData(0x444b1ae4d6e2ef4fUL, "999999999999999900000")]
    [InlineData(0x444b1ae4d6e2ef50UL, "1e+21")]
    [InlineData(0x3eb0c6f7a0b5ed8cUL, "9.999999999999997e-7")]
    [InlineData(0x3eb0c6f7a0b5ed8dUL, "0.000001")]
    [InlineData(0x41b3de4355555553UL, "333333333.3333332")]
    [InlineData(0x41b3de4355555554UL, "333333333.33333325")]
    [InlineData(0x41b3de4355555555UL, "333333333.3333333")]
    [InlineData(0x41b3de4355555556UL, "333333333.3333334")]
    [InlineData(0x41b3de4355555557UL, "333333333.33333343")]
    [InlineData(0xbecbf647612f3696UL, "-0.0000033333333333333333")]
    [InlineData(0x43143ff3c1cb0959UL, "1424953923781206.2")]
    public void FormatNumber_Rfc8785AppendixB_MatchesPublishedText(ulong bits, string expected) =>
        Assert.Equal(expected, CanonicalJson.FormatNumber(BitConverter.UInt64BitsToDouble(bits)));

    [Theory]
    [InlineData(0x7fffffffffffffffUL, "canonical JSON: NaN is not a JSON number")]
    [InlineData(0x7ff0000000000000UL, "canonical JSON: Infinity is not a JSON number")]
    public void FormatNumber_NaNOrInfinity_Refused(ulong bits, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => CanonicalJson.FormatNumber(BitConverter.UInt64BitsToDouble(bits))).Message);

    [Fact]
    public void Serialize_IntegerBeyond2To53_RefusedWithPath() =>
        Assert.Equal(
            "canonical JSON: the integer 9007199254740993 at $.a[1] is beyond ±2^53 and would not survive as a JSON number",
            Assert.Throws<FormatException>(() => Canonical("""{"a":[1,9007199254740993]}""")).Message);

    [Fact]
    public void Serialize_DuplicateMember_Refused() =>
        Assert.Equal(
            "canonical JSON: member 'x' appears twice in $",
            Assert.Throws<FormatException>(() => Canonical("""{"x":1,"y":2,"x":3}""")).Message);

    [Fact]
    public void Serialize_LoneSurrogate_Refused() =>
        Assert.StartsWith(
            "canonical JSON: a string holds a lone surrogate",
            Assert.Throws<FormatException>(() => CanonicalJson.Serialize("\ud800")).Message);

    [Fact]
    public void Serialize_TypedRecordThroughTypeInfo_SortsAndEscapes()
    {
        var json = CanonicalJson.Serialize(new Sample("zeta\n", 7, ["b", "a"]), SampleJsonContext.Default.Sample);
        Assert.Equal("{\"list\":[\"b\",\"a\"],\"number\":7,\"text\":\"zeta\\n\"}", Encoding.UTF8.GetString(json));
    }

    [Fact]
    public void Serialize_ObjectDictionary_SameAsParsedJson()
    {
        var fromObject = CanonicalJson.Serialize(new CanonicalJson.Object { ["b"] = 1.5, ["a"] = new[] { "x" }, ["c"] = null });
        Assert.Equal(Canonical("""{"c":null,"a":["x"],"b":1.50}"""), Encoding.UTF8.GetString(fromObject));
    }
}

public sealed record Sample(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("number")] int Number,
    [property: JsonPropertyName("list")] IReadOnlyList<string> List);

[JsonSerializable(typeof(Sample))]
internal sealed partial class SampleJsonContext : JsonSerializerContext;
