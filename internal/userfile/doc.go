// Package userfile opens files whose paths a user gave ember (kernel,
// initrd, disk images, snapshot files) under one policy: the open never
// blocks, and anything but a regular file (or, where allowed, a block
// device) is refused with an error naming the file and the fix.
//
// A blocking open of a FIFO waits for a writer forever; opening a
// character device can have side effects. So Open checks the type with
// stat before opening, opens with O_NONBLOCK|O_NOCTTY, checks the type
// again on the open descriptor (the path may have been swapped in
// between), then clears O_NONBLOCK.
package userfile
