-- share.lua — what the scripts that share out a file among wrk's threads have in
-- common (refresh.lua, jwt.lua): each thread gets an index in setup(), and
-- my_lines(path) is this thread's share of the file's lines (line n to the
-- thread n mod BENCH_THREADS).
local counter = 0

function setup(thread)
   thread:set("index", counter)
   counter = counter + 1
end

function my_lines(path)
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   local mine, n = {}, 0
   for line in io.lines(path) do
      if n % nthreads == index then
         mine[#mine + 1] = line
      end
      n = n + 1
   end
   return mine
end
