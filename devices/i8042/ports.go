package i8042

import "github.com/embervm/ember/devices/bus"

// DataPort returns the bus device for the data port (DataPortAddr):
// reads pop the output buffer, writes carry command data.
func (d *Device) DataPort() bus.Device { return dataPort{d} }

// CommandPort returns the bus device for the command port
// (CommandPortAddr): reads return the status register, writes run
// controller commands.
func (d *Device) CommandPort() bus.Device { return commandPort{d} }

type dataPort struct{ d *Device }

func (p dataPort) Read(off uint64, data []byte) {
	if ignored(off, data) {
		fillOnes(data)
		return
	}
	data[0] = p.d.readData()
}

func (p dataPort) Write(off uint64, data []byte) {
	if !ignored(off, data) {
		p.d.writeData(data[0])
	}
}

type commandPort struct{ d *Device }

func (p commandPort) Read(off uint64, data []byte) {
	if ignored(off, data) {
		fillOnes(data)
		return
	}
	data[0] = p.d.readStatus()
}

func (p commandPort) Write(off uint64, data []byte) {
	if !ignored(off, data) {
		p.d.writeCommand(data[0])
	}
}

// ignored reports whether an access is anything but one byte at the
// port itself.
func ignored(off uint64, data []byte) bool { return off != 0 || len(data) != 1 }

func fillOnes(data []byte) {
	for i := range data {
		data[i] = 0xff
	}
}
