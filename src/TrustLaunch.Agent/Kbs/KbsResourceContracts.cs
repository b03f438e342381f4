using System.Text.Json.Serialization;

namespace TrustLaunch.Agent.Kbs;

/// <summary><c>POST /v1/kbs/resource</c> on the agent's unix socket: <c>{"uri":"kbs:///REPOSITORY/TYPE/TAG"}</c>.</summary>
public sealed record KbsResourceRequest([property: JsonPropertyName("uri")] string Uri);

/// <summary>The problem types of <c>POST /v1/kbs/resource</c> beside the status code.</summary>
public static class KbsProblemTypes
{
    /// <summary>The broker refused; the detail is <c>kbs refused: NAME: DETAIL</c> with the broker's error name.</summary>
    public const string Refused = "urn:trustlaunch:problem:kbs-refused";

    /// <summary>The agent refused the broker's answer (a JWE that does not open, an answer off the protocol).</summary>
    public const string AnswerRefused = "urn:trustlaunch:problem:kbs-answer-refused";

    /// <summary>The broker could not be reached (or its certificate was refused).</summary>
    public const string Unreachable = "urn:trustlaunch:problem:kbs-unreachable";

    /// <summary>The agent was started without <c>--kbs</c>.</summary>
    public const string NotConfigured = "urn:trustlaunch:problem:kbs-not-configured";
}

[JsonSourceGenerationOptions(RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(KbsResourceRequest))]
public sealed partial class KbsResourceJsonContext : JsonSerializerContext;
