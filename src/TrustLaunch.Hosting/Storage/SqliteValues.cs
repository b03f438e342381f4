using System.Globalization;
using Microsoft.Data.Sqlite;

namespace TrustLaunch.Hosting.Storage;

/// <summary>Column conversions every store uses: timestamps as ISO 8601 UTC text, nullable blobs and text.</summary>
public static class SqliteValues
{
    public static string ToText(DateTimeOffset value) => value.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    public static object ToDb(DateTimeOffset? value) => value is { } v ? ToText(v) : DBNull.Value;

    public static object ToDb(object? value) => value ?? DBNull.Value;

    public static DateTimeOffset GetTimestamp(this SqliteDataReader reader, int ordinal) =>
        DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    public static DateTimeOffset? GetNullableTimestamp(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetTimestamp(ordinal);

    public static byte[]? GetNullableBlob(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : (byte[])reader.GetValue(ordinal);

    public static string? GetNullableString(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static byte[] GetBlob(this SqliteDataReader reader, int ordinal) => (byte[])reader.GetValue(ordinal);
}
