package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PiiRedactorTest {
  private static String redact(String s) {
    return PiiRedactor.redact(s).text();
  }

  @Test
  void emails() {
    assertEquals(
        "Write to <EMAIL> or <EMAIL>.",
        redact("Write to jane.doe+lists@example.co.uk or x@debian.org."));
  }

  @Test
  void ipv4() {
    assertEquals(
        "hosts <IP> and <IP>, not 1.2.3 or 300.1.1.1",
        redact("hosts 192.168.0.1 and 8.8.8.8, not 1.2.3 or 300.1.1.1"));
  }

  @Test
  void ipv6() {
    assertEquals(
        "a <IP> b <IP> c <IP> d <IP>",
        redact(
            "a 2001:0db8:85a3:0000:0000:8a2e:0370:7334 b fe80::1 c ::ffff:192.0.2.128 d 2001:db8::8a2e:370:7334"));
    assertEquals(
        "std::vector at 12:30:45 and a::b::c", redact("std::vector at 12:30:45 and a::b::c"));
    assertTrue(PiiRedactor.isIpv6("1:2:3:4:5:6:7:8"));
    assertFalse(PiiRedactor.isIpv6("1:2:3:4:5:6:7:8:9"));
  }

  @Test
  void phones() {
    assertEquals(
        "Call <PHONE>, <PHONE>, <PHONE> or <PHONE>.",
        redact("Call +1 (555) 123-4567, 555-123-4567, +44 20 7946 0958 or (030) 1234 5678."));
  }

  @Test
  void leavesDatesYearsAndVersionsAlone() {
    String s =
        "Released 2007-06-29, copyright 1999 2000 2001, version 2.4.1-3, at +0200, ISBN 978-3-16.";
    assertEquals(s, redact(s));
    assertEquals(0, PiiRedactor.redact(s).replacements());
  }

  @Test
  void countsReplacements() {
    assertEquals(3, PiiRedactor.redact("a@b.io 10.0.0.1 555-123-4567").replacements());
  }
}
