// Framer: every framing, with frames split across reads (down to one byte at a
// time), many frames in one read, CRLF against LF, garbage, oversize frames.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "drivers/serial/checksum.hpp"
#include "drivers/serial/framer.hpp"

namespace fieldgate::serial {
namespace {

using Kind = Frame::Kind;
using namespace std::literals;

serial::SerialLineConfig delimited(std::string delimiter, int max_frame = 64) {
  serial::SerialLineConfig c;
  c.framing = serial::Framing::kDelimiter;
  c.delimiter = std::move(delimiter);
  c.max_frame = max_frame;
  return c;
}

std::vector<Frame> feed_bytewise(Framer& framer, std::string_view bytes) {
  std::vector<Frame> out;
  for (const char c : bytes) {
    for (auto& f : framer.feed(std::string_view(&c, 1))) out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> contents(const std::vector<Frame>& frames, Kind kind = Kind::kFrame) {
  std::vector<std::string> out;
  for (const auto& f : frames) {
    if (f.kind == kind) out.push_back(f.kind == Kind::kFrame ? f.content : f.raw);
  }
  return out;
}

TEST(SerialFramerTest, ManyFramesInOneReadAndSplitAcrossReads) {
  Framer framer(delimited("\r\n"));
  auto frames = framer.feed("A=1\r\nB=2\r\nC=");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(frames[0].raw, "A=1\r\n");  // as received, for `poll --raw`
  EXPECT_EQ(framer.pending(), 2u);
  frames = framer.feed("3\r");  // the delimiter itself split across reads
  EXPECT_TRUE(frames.empty());
  frames = framer.feed("\n");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"C=3"}));
  EXPECT_EQ(framer.pending(), 0u);
}

TEST(SerialFramerTest, OneByteAtATimeGivesTheSameFrames) {
  Framer framer(delimited("\r\n"));
  const auto frames = feed_bytewise(framer, "$HR,72*00\r\n$HR,73*00\r\n");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"$HR,72*00", "$HR,73*00"}));
}

TEST(SerialFramerTest, LfDelimiterReadsCrlfAndLfDevices) {
  Framer framer(delimited("\n"));
  const auto frames = framer.feed("crlf\r\nlf\n\r\n\n");
  // The CR of a CRLF device is not content; blank lines are no frames.
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"crlf", "lf"}));
}

TEST(SerialFramerTest, CrlfDelimiterOnAnLfDeviceRefusesEveryLineWithTheReason) {
  // Before (issue 14, E23): one oversize frame, then everything dropped in
  // silence while waiting for a "\r\n" that never comes.
  Framer framer(delimited("\r\n", 16));
  std::vector<Frame> frames;
  for (int i = 0; i < 10; ++i) {
    for (auto& f : framer.feed("value=1\nvalue=2\nvalue=3\n")) frames.push_back(std::move(f));
    EXPECT_LE(framer.pending(), 17u);  // bounded: never grows with the stream
  }
  // Every line but the last (nothing after it yet) is a frame refused with the reason.
  ASSERT_EQ(frames.size(), 29u);
  for (const auto& f : frames) {
    EXPECT_EQ(f.kind, Kind::kFrame);
    EXPECT_EQ(f.problem,
              "ends with \"\\n\", not the delimiter \"\\r\\n\" (delimiter = \"any-line-end\" "
              "takes \\r\\n, \\n and \\r)");
  }
  EXPECT_EQ(frames[1].raw, "value=2\n");
  EXPECT_EQ(frames[1].content, "value=2");
}

TEST(SerialFramerTest, LfDelimiterOnACrDeviceRefusesEveryLineWithTheReason) {
  Framer framer(delimited("\n", 8));
  const auto frames = framer.feed("A=1\rA=2\rA=3\r");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].raw, "A=1\r");
  EXPECT_NE(frames[0].problem.find("ends with \"\\r\", not the delimiter \"\\n\""),
            std::string::npos)
      << frames[0].problem;
}

TEST(SerialFramerTest, WithoutAnyFrameEndOversizeIsCountedAgainAndAgain) {
  // Bytes that never hold a delimiter: every max_frame of them is one more
  // oversize frame, not one and then silence.
  Framer framer(delimited("\n", 8));
  std::vector<Frame> frames;
  for (int i = 0; i < 10; ++i) {
    for (auto& f : framer.feed("0123456789")) frames.push_back(std::move(f));
    EXPECT_LE(framer.pending(), 9u);
  }
  EXPECT_GE(contents(frames, Kind::kOversize).size(), 9u);
  EXPECT_TRUE(contents(frames).empty());
}

TEST(SerialFramerTest, CrlfDelimiterRefusesALineThatEndsInLfAndSaysSo) {
  Framer framer(delimited("\r\n"));
  const auto frames = framer.feed("A=1\nA=2\r\nA=3\r\n");
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].kind, Kind::kFrame);
  EXPECT_EQ(frames[0].raw, "A=1\n");
  EXPECT_EQ(frames[0].problem,
            "ends with \"\\n\", not the delimiter \"\\r\\n\" (delimiter = \"any-line-end\" "
            "takes \\r\\n, \\n and \\r)");
  // The rest of the line is framed on its own, and the next line is good.
  EXPECT_EQ(frames[1].content, "A=2");
  EXPECT_EQ(frames[1].problem, "");
  EXPECT_EQ(frames[2].content, "A=3");
  // In pieces, the same.
  Framer pieces(delimited("\r\n"));
  const auto bytewise = feed_bytewise(pieces, "A=1\nA=2\r\nA=3\r\n");
  ASSERT_EQ(bytewise.size(), 3u);
  EXPECT_EQ(bytewise[0].problem, frames[0].problem);
  EXPECT_EQ(contents(bytewise), (std::vector<std::string>{"A=1", "A=2", "A=3"}));
}

TEST(SerialFramerTest, AnOversizeLineEndingInAStrayLineEndIsCutThereInPiecesToo) {
  // An oversize line's front is dropped while it is read; a lone "\r" after
  // it still ends it, however the bytes arrive (found by the framer fuzz
  // target: read byte by byte, "B=2" was lost in the oversize tail).
  const std::string stream =
      "0123456789\rB=2\n"
      "0123456789\r\r\r\rC=3\n";
  Framer whole(delimited("\n", 4));
  const auto at_once = whole.feed(stream);
  EXPECT_EQ(contents(at_once), (std::vector<std::string>{"B=2", "C=3"}));
  EXPECT_EQ(contents(at_once, Kind::kOversize).size(), 2u);
  Framer pieces(delimited("\n", 4));
  const auto bytewise = feed_bytewise(pieces, stream);
  EXPECT_EQ(contents(bytewise), contents(at_once));
  EXPECT_LE(pieces.pending(), 4u + 1u);
}

TEST(SerialFramerTest, StrayCarriageReturnsBeforeTheDelimiterAreNotContentInPiecesEither) {
  // "A" and three CRs, then CRLF: a one-byte line. Read byte by byte, the CRs
  // used to count towards max_frame and made it an oversize frame.
  const std::string stream = "A\r\r\r\r\nB\r\n";
  Framer whole(delimited("\r\n", 1));
  const auto at_once = whole.feed(stream);
  EXPECT_EQ(contents(at_once), (std::vector<std::string>{"A", "B"}));
  EXPECT_TRUE(contents(at_once, Kind::kOversize).empty());
  // Raw bytes keep the delimiter and one CR before it, however long the run.
  EXPECT_EQ(at_once.at(0).raw, "A\r\r\n");
  Framer pieces(delimited("\r\n", 1));
  const auto bytewise = feed_bytewise(pieces, stream);
  EXPECT_EQ(contents(bytewise), contents(at_once));
  EXPECT_EQ(bytewise.at(0).raw, at_once.at(0).raw);
  EXPECT_TRUE(contents(bytewise, Kind::kOversize).empty());
  // A run of a million CRs holds a few bytes, not a million.
  Framer flood(delimited("\r\n", 1));
  (void)flood.feed("A");
  for (int i = 0; i < 1000; ++i) (void)flood.feed(std::string(1000, '\r'));
  EXPECT_LE(flood.pending(), 4u);
  EXPECT_EQ(contents(flood.feed("\n")), (std::vector<std::string>{"A"}));
}

TEST(SerialFramerTest, WithAStartByteALineEndingInLfIsABadFrameNotGarbage) {
  // Before: "$HR,72*00\n" was thrown away as line noise with nothing to say why.
  auto c = delimited("\r\n");
  c.start_byte = '$';
  Framer framer(c);
  const auto frames = framer.feed("$HR,72*00\n$HR,73*00\r\n");
  EXPECT_TRUE(contents(frames, Kind::kGarbage).empty());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].raw, "$HR,72*00\n");
  EXPECT_NE(frames[0].problem.find("ends with \"\\n\""), std::string::npos);
  EXPECT_EQ(frames[1].content, "HR,73*00");
  EXPECT_EQ(frames[1].problem, "");
}

TEST(SerialFramerTest, AnyLineEndReadsCrlfLfAndCrMixed) {
  auto c = delimited("\n");
  c.any_line_end = true;
  const std::string stream = "a=1\r\nb=2\nc=3\rd=4\n\re=5\r\n\r\n\n";
  Framer whole(c);
  const auto frames = whole.feed(stream);
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"a=1", "b=2", "c=3", "d=4", "e=5"}));
  EXPECT_EQ(frames.size(), 5u);  // blank lines and CRLF halves are nothing
  for (const auto& f : frames) EXPECT_EQ(f.problem, "");
  Framer pieces(c);
  EXPECT_EQ(contents(feed_bytewise(pieces, stream)),
            (std::vector<std::string>{"a=1", "b=2", "c=3", "d=4", "e=5"}));

  // With a start byte: no garbage from the second half of a CRLF.
  c.start_byte = '$';
  Framer nmea(c);
  const auto sentences = feed_bytewise(nmea, "$A,1\r\n$B,2\n$C,3\r");
  EXPECT_EQ(contents(sentences), (std::vector<std::string>{"A,1", "B,2", "C,3"}));
  EXPECT_EQ(sentences.size(), 3u);
}

TEST(SerialFramerTest, AnyLineEndOversizeIsBoundedAndCounted) {
  auto c = delimited("\n", 8);
  c.any_line_end = true;
  Framer framer(c);
  const auto frames = framer.feed("0123456789ABCDEF\rok\r");
  EXPECT_EQ(contents(frames, Kind::kOversize).size(), 1u);
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"ok"}));
  EXPECT_EQ(framer.pending(), 0u);
}

TEST(SerialFramerTest, LfDelimiterTakesCrBeforeOrAfterAsPartOfTheLineEnd) {
  // "\r\r\n" (a doubled CR) and "\n\r" (LFCR devices) are line ends, not content.
  Framer framer(delimited("\n"));
  const auto frames = framer.feed("a\r\r\nb\n\rc\n\r");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& f : frames) EXPECT_EQ(f.problem, "") << f.raw;
}

TEST(SerialFramerTest, OversizeFrameIsDiscardedUpToTheNextDelimiter) {
  Framer framer(delimited("\n", 8));
  auto frames = framer.feed("0123456789");  // already past max_frame, no end yet
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, Kind::kOversize);
  EXPECT_EQ(frames[0].raw, "01234567");
  frames = framer.feed("ABCDEF\nok\n");  // the rest of it, then a good frame
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"ok"}));
  EXPECT_TRUE(contents(frames, Kind::kOversize).empty());  // counted once
  // A complete long line in one read is oversize too.
  frames = framer.feed("0123456789\nfine\n");
  EXPECT_EQ(contents(frames, Kind::kOversize).size(), 1u);
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"fine"}));
}

TEST(SerialFramerTest, StartByteDropsNoiseBetweenLines) {
  auto c = delimited("\r\n");
  c.start_byte = '$';
  Framer framer(c);
  const auto frames = framer.feed("\x00\xFF~$A,1*00\r\nnoise\r\n$B,2*00\r\n"sv);
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"A,1*00", "B,2*00"}));
  EXPECT_EQ(frames[1].raw, "$A,1*00\r\n");
  const auto garbage = contents(frames, Kind::kGarbage);
  ASSERT_EQ(garbage.size(), 2u);
  EXPECT_EQ(garbage[1], "noise\r\n");
}

TEST(SerialFramerTest, StartByteOversizeResynchronisesAtTheNextStart) {
  auto c = delimited("\n", 8);
  c.start_byte = '$';
  Framer framer(c);
  const auto frames = feed_bytewise(framer, "$0123456789ABC$ok\n");
  EXPECT_EQ(contents(frames, Kind::kOversize).size(), 1u);
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"ok"}));
}

// Found by fuzzing (fuzz_framer): a sentence cut short (a device reset, a
// reconnect) followed by a good one. In one read the good one was a frame; in
// pieces the two were measured together as one oversize frame and the good
// one was lost.
TEST(SerialFramerTest, CutShortSentenceThenAGoodOneInPieces) {
  auto c = delimited("\n", 16);
  c.start_byte = '$';
  const std::string stream = "$GPGGA,1234$GPRMC,12*4A\n";
  Framer whole(c);
  EXPECT_EQ(contents(whole.feed(stream)), (std::vector<std::string>{"GPRMC,12*4A"}));
  Framer pieces(c);
  EXPECT_EQ(contents(feed_bytewise(pieces, stream)), (std::vector<std::string>{"GPRMC,12*4A"}));
}

// Found by fuzzing (fuzz_framer): the read that made a frame oversize ended
// in the first byte of a two-byte delimiter. It was thrown away with the
// frame, the delimiter was never seen, and the next frame was lost with it.
TEST(SerialFramerTest, OversizeEndingInHalfADelimiterKeepsTheNextFrame) {
  Framer framer(delimited("\r\n", 4));
  auto frames = framer.feed("0123456789\r");
  EXPECT_EQ(contents(frames, Kind::kOversize).size(), 1u);
  frames = framer.feed("\nok\r\n");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"ok"}));
}

serial::SerialLineConfig stx_etx() {
  serial::SerialLineConfig c;
  c.framing = serial::Framing::kStartEnd;
  c.start_byte = 0x02;
  c.end_byte = 0x03;
  c.max_frame = 16;
  return c;
}

TEST(SerialFramerTest, StartEndFramesWithGarbageBetween) {
  Framer framer(stx_etx());
  const auto frames = framer.feed("xx\x02W 12.5kg\x03junk\x02W 12.6kg\x03");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"W 12.5kg", "W 12.6kg"}));
  EXPECT_EQ(frames[1].raw, "\x02W 12.5kg\x03");
  EXPECT_EQ(contents(frames, Kind::kGarbage), (std::vector<std::string>{"xx", "junk"}));
}

TEST(SerialFramerTest, StartEndSplitAcrossReadsAndCutShortFrames) {
  Framer framer(stx_etx());
  auto frames = feed_bytewise(framer,
                              "\x02"
                              "A\x03\x02"
                              "B");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"A"}));
  // A new STX before the ETX: the first frame was cut short and is discarded.
  frames = framer.feed(
      "\x02"
      "C\x03");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"C"}));
  EXPECT_EQ(contents(frames, Kind::kGarbage), (std::vector<std::string>{"\x02"
                                                                        "B"}));
}

TEST(SerialFramerTest, StartEndChecksumAfterTheEndByteIsWaitedFor) {
  auto c = stx_etx();
  c.checksum = serial::ChecksumKind::kCrc16Modbus;
  c.checksum_position = serial::ChecksumPosition::kAfterEnd;
  Framer framer(c);
  const std::string crc =
      encode_checksum(c.checksum, serial::ChecksumFormat::kBinary, std::string("DATA\x03"));
  auto frames = framer.feed(
      "\x02"
      "DATA\x03" +
      crc.substr(0, 1));
  EXPECT_TRUE(frames.empty());  // the CRC's second byte is still coming
  frames = framer.feed(crc.substr(1));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].content, "DATA");
  EXPECT_EQ(frames[0].trailer, crc);
  EXPECT_EQ(frames[0].raw,
            "\x02"
            "DATA\x03" +
                crc);
}

TEST(SerialFramerTest, StartEndOversizeIsDiscardedUpToTheNextStart) {
  Framer framer(stx_etx());
  auto frames = framer.feed(
      "\x02"
      "0123456789ABCDEFGHIJ");
  EXPECT_EQ(contents(frames, Kind::kOversize).size(), 1u);
  frames = framer.feed("KLM\x03\x02ok\x03");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"ok"}));
  EXPECT_TRUE(contents(frames, Kind::kGarbage).empty());  // the tail is part of the oversize
}

// Found by fuzzing (fuzz_framer): the whole oversize frame arrived in one
// read, end byte included, but not yet its checksum. It was held, longer than
// max_frame, until the checksum came; split across reads it was dropped at
// once. Both ways now give the same frames and hold nothing oversize.
TEST(SerialFramerTest, StartEndOversizeIsNotHeldWhileItsChecksumIsComing) {
  auto c = stx_etx();
  c.checksum = serial::ChecksumKind::kCrc16Modbus;
  c.checksum_position = serial::ChecksumPosition::kAfterEnd;
  Framer framer(c);
  auto frames = framer.feed(
      "\x02"
      "0123456789ABCDEFGHIJ\x03\x55");
  EXPECT_EQ(contents(frames, Kind::kOversize).size(), 1u);
  EXPECT_EQ(framer.pending(), 0u);
  frames = framer.feed(
      "\xAA\x02"
      "ok\x03" +
      encode_checksum(c.checksum, c.checksum_format, std::string("ok\x03")));
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"ok"}));
  EXPECT_TRUE(contents(frames, Kind::kGarbage).empty());  // the CRC belongs to the oversize
}

TEST(SerialFramerTest, FixedLengthFrames) {
  serial::SerialLineConfig c;
  c.framing = serial::Framing::kFixed;
  c.frame_length = 4;
  Framer framer(c);
  auto frames = framer.feed("ABCDEFG");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"ABCD"}));
  frames = framer.feed("HIJKL");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"EFGH", "IJKL"}));
}

TEST(SerialFramerTest, FixedLengthWithStartByteResynchronises) {
  serial::SerialLineConfig c;
  c.framing = serial::Framing::kFixed;
  c.frame_length = 4;
  c.start_byte = 0xAA;
  Framer framer(c);
  const auto frames = framer.feed(
      "\x01\x02\xAA"
      "123\xAA"
      "456");
  EXPECT_EQ(contents(frames), (std::vector<std::string>{"123", "456"}));
  EXPECT_EQ(contents(frames, Kind::kGarbage).size(), 1u);
}

TEST(SerialFramerTest, ResetForgetsAPartialFrame) {
  Framer framer(delimited("\n"));
  (void)framer.feed("half a li");
  framer.reset();
  EXPECT_EQ(framer.pending(), 0u);
  EXPECT_EQ(contents(framer.feed("ne\nwhole\n")), (std::vector<std::string>{"ne", "whole"}));
}

}  // namespace
}  // namespace fieldgate::serial
