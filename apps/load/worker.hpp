// One hms-load thread: an epoll loop that owns a share of the docks (index
// = worker mod threads) and of the clients, their sockets and their counts.
// Nothing here is touched by another thread except through Shared's atomics
// and notify(); counts() is read after join().
//
// ### The hot path, and what it costs per frame
// - A dock writes a batch of up to Options::batch stdout frames with one send(2):
//   the frames are prebuilt back to back (Dock::frames) and only their
//   stamp and sequence number are patched, with one clock read per batch.
// - A client drains its socket with recv(2) into the worker's one read
//   buffer, reads the clock once per read, and walks the frames with a
//   loop that skips header and id by their lengths and reads only the
//   sequence number and dock index (for the gap check) and the stamp (for
//   latency, recorded once per run of frames with the same stamp, i.e. per
//   dock batch, weighted by the run's length).
// Everything that is not a stdout frame (set-up, replies, pings, commands)
// goes through the codec's decode_frame() on a slow path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "conn.hpp"
#include "histogram.hpp"
#include "hms/frame.hpp"
#include "shared.hpp"

namespace hms::load {

// Rate 0: frames one pump pass writes (over all its docks, Options::batch
// per send) before the loop reads again.
inline constexpr std::uint64_t kPumpBudget = 4096;
// Rate mode: at most this many overdue frames go out at once per dock (a
// dock that fell far behind skips the rest rather than bursting), and docks
// due within kSendAhead ns of a wake-up send with it (see Worker::tick).
inline constexpr std::uint64_t kMaxCatchUp = 64;
inline constexpr std::int64_t kSendAhead = 250'000;
// Docks a worker starts connecting per loop pass (each connect is cheap,
// nonblocking; the pass still reads in between).
inline constexpr unsigned kConnectChunk = 64;
// The read buffer (one per worker, shared by its connections). Big enough
// that a client read takes a good part of what is in flight towards it.
inline constexpr std::size_t kReadBuffer = 256 * 1024;

struct Dock : Conn {
  std::uint32_t index = 0;
  std::string service, origin;
  std::uint64_t seq = 0;  // the next frame's sequence number
  // Prebuilt stdout frames back to back; grows to the largest batch sent.
  std::vector<std::uint8_t> frames;
  std::size_t frame_bytes = 0, head_bytes = 0, built = 0;
  std::int64_t next_due = 0;  // rate mode
  bool up = false;            // the hub answered the handshake with ok
  bool failed = false;        // counted in docks_failed already
  bool blocked = false;       // the kernel took less than offered: wait for EPOLLOUT
  bool sub_all = false, sub_mine = false;  // the hub subscribed us to '*' / our service
  bool streaming = false;                  // up and subscribed
  bool in_ready = false;                   // on the pump's rotation (rate 0)
  bool in_heap = false;                    // on the schedule (rate mode)
};

struct Client : Conn {
  std::uint32_t index = 0;
  std::vector<std::uint64_t> last_seq;  // by dock index
  std::uint64_t done_frames = 0;        // published as ClientTally::done
  // Set-up: 0 handshake, 1..services add web<step-1>, services+1 subscribe;
  // one request at a time.
  unsigned step = 0;
  std::uint16_t next_rid = 0, waiting_rid = 0;
  bool done = false;  // subscribed, or failed
  bool stream = false;  // an event stream (stream.cpp), not a protocol client
};

// What a worker measured (latency, sent, delivered, skipped, lost,
// reordered only inside the window; malformed always).
struct Counts {
  LatencyHistogram latency;
  std::uint64_t stream_delivered = 0;  // events, at event streams
  std::uint64_t sent = 0, delivered = 0, skipped = 0, lost = 0, reordered = 0, malformed = 0;
};

class Worker {
 public:
  // Throws std::system_error when epoll or eventfd cannot be created.
  Worker(Shared& sh, unsigned index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void add_client(std::uint32_t index);  // before start()
  void start();
  void join();
  // Wakes the loop from any thread: a phase change, the stop, or credit.
  void notify() noexcept;
  // CPU time the thread has used, in seconds; nullopt before start() or
  // after join().
  std::optional<double> cpu_seconds() const;
  const Counts& counts() const noexcept { return counts_; }  // after join()

 private:
  // worker.cpp: the loop, reads, closes, the pump and the schedule.
  void loop();
  std::int64_t timeout_ns();
  void watch(Conn& c);
  void on_event(Conn& c, std::uint32_t events);
  void read_ready(Conn& c);
  std::size_t take_upgrade(Conn& c, const std::uint8_t* p, std::size_t n);
  void protocol_error(Conn& c, const std::uint8_t* at, std::size_t left, const char* what);
  void close_conn(Conn& c, const std::string& why);
  void reply(Conn& c, FrameType type, std::uint16_t request_id, std::string_view body);
  void pump();
  void tick();
  void park();
  void unpark();
  void kick_parked();

  // dock.cpp: connecting, the dock's side of the protocol, writing frames.
  bool docks_to_connect() const noexcept;
  void connect_docks();
  void open_dock(std::uint32_t index);
  void dock_connected(Dock& d);
  std::size_t dock_input(Dock& d, const std::uint8_t* p, std::size_t n);
  void dock_frame(Dock& d, const FrameView& f);
  void dock_closed(Dock& d, const std::string& why);
  void dock_writable(Dock& d);
  void update_streaming(Dock& d);
  std::uint64_t send_frames(Dock& d, std::uint64_t n, std::int64_t now);

  // client.cpp: set-up requests and the receive loop.
  void open_client(Client& c);
  void client_connected(Client& c);
  void client_step(Client& c);
  std::size_t client_input(Client& c, const std::uint8_t* p, std::size_t n, std::int64_t now);
  void client_frame(Client& c, const FrameView& f);
  void client_reply(Client& c, const FrameView& f);
  void client_failed(Client& c, const std::string& why);
  void client_closed(Client& c, const std::string& why);

  // stream.cpp: an event stream of the hub's page.
  void stream_connected(Client& c);
  std::size_t stream_input(Client& c, const std::uint8_t* p, std::size_t n, std::int64_t now);

  Shared& sh_;
  const unsigned index_;
  int epfd_ = -1, evfd_ = -1;
  std::thread thread_;

  std::vector<std::unique_ptr<Dock>> docks_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::uint32_t next_dock_;               // the next of this worker's dock indexes
  std::vector<std::uint8_t> rbuf_;        // the read buffer
  std::vector<std::uint8_t> scratch_;     // control frames being built

  // rate 0: streaming docks that can write, served round robin
  std::vector<Dock*> ready_;
  std::size_t rr_ = 0;
  // Waiting for credit. exchange()d by this thread and by whoever wakes it;
  // each true->false transition pairs with one Shared::parked decrement.
  std::atomic<bool> parked_{false};
  // rate mode: docks by next due time
  using Due = std::pair<std::int64_t, Dock*>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> schedule_;

  Counts counts_;
};

}  // namespace hms::load
